import ArkCore
import ArkSync
import Foundation

extension SyncDaemon {
    /// The daemon's state now: every remote of ark.toml (and any other peer the transport saw),
    /// with the transport's counters, and the engine's replication figures.
    func status(traffic: PeerTraffic, listen: String, started: Date) -> DaemonStatus {
        let seen = traffic.snapshot()
        let nodes = Set(remotes.keys).union(seen.keys).sorted()
        let peers = nodes.map { node -> DaemonStatus.Peer in
            let t = seen[node]
            return DaemonStatus.Peer(
                node: node.hex, connected: (t?.openConnections ?? 0) > 0, address: t?.address,
                connectedSince: t?.connectedSince?.timeIntervalSince1970, lastSeen: t?.lastSeen?.timeIntervalSince1970,
                bytesIn: t?.bytesIn ?? 0, bytesOut: t?.bytesOut ?? 0, connections: t?.connections ?? 0,
                refusal: (t?.openConnections ?? 0) > 0 ? nil : t?.refusal)
        }
        let replication = engine.replicationProgress.sorted { $0.key < $1.key }.map { repo, p in
            DaemonStatus.Replication(
                repo: repo, chunksQueued: p.chunksQueued, chunksDone: p.chunksDone, chunksFailed: p.chunksFailed,
                bytesQueued: p.bytesQueued, bytesDone: p.bytesDone, bytesFailed: p.bytesFailed, running: p.running)
        }
        let command = CommandLine.arguments.dropFirst().first { ["run", "mount", "prefetch"].contains($0) } ?? "run"
        return DaemonStatus(
            pid: getpid(), node: context.repo.identity.endpointID.hex, command: command,
            started: started.timeIntervalSince1970, listen: listen, peers: peers, replication: replication)
    }
}
