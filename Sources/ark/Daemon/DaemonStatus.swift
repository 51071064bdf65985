import ArkCore
import ArkSync
import Foundation

/// The live state a running daemon serves on `<store>/daemon.sock` (see `StatusSocket`), as
/// `ark status` reads it. Times are seconds since 1970. Internal to ark: the documented
/// format is `ark status --json`, which merges this with the index.
struct DaemonStatus: Codable, Sendable {
    struct Peer: Codable, Sendable {
        var node: String
        var connected: Bool
        /// Remote address of the current (or last) connection.
        var address: String?
        var connectedSince: Double?
        var lastSeen: Double?
        var bytesIn: UInt64
        var bytesOut: UInt64
        var connections: Int
    }

    struct Replication: Codable, Sendable {
        var repo: String
        var chunksQueued: Int
        var chunksDone: Int
        var chunksFailed: Int
        var bytesQueued: UInt64
        var bytesDone: UInt64
        var bytesFailed: UInt64
        var running: Int
    }

    var pid: Int32
    var node: String
    /// The ark subcommand hosting the daemon: run, mount or prefetch.
    var command: String
    var started: Double
    var listen: String
    var peers: [Peer]
    var replication: [Replication]
}

extension SyncService {
    /// The daemon's state now: every remote of ark.toml (and any other peer the transport saw),
    /// with the transport's counters, and the engine's replication figures.
    func status(traffic: PeerTraffic, listen: String, started: Date) -> DaemonStatus {
        let seen = traffic.snapshot()
        let nodes = Set(remotes.keys).union(seen.keys).sorted()
        let peers = nodes.map { node -> DaemonStatus.Peer in
            let t = seen[node]
            return DaemonStatus.Peer(node: node.hex, connected: (t?.openConnections ?? 0) > 0, address: t?.address,
                                     connectedSince: t?.connectedSince?.timeIntervalSince1970, lastSeen: t?.lastSeen?.timeIntervalSince1970,
                                     bytesIn: t?.bytesIn ?? 0, bytesOut: t?.bytesOut ?? 0, connections: t?.connections ?? 0)
        }
        let replication = engine.replicationProgress.sorted { $0.key < $1.key }.map { repo, p in
            DaemonStatus.Replication(repo: repo, chunksQueued: p.chunksQueued, chunksDone: p.chunksDone, chunksFailed: p.chunksFailed,
                                     bytesQueued: p.bytesQueued, bytesDone: p.bytesDone, bytesFailed: p.bytesFailed, running: p.running)
        }
        let command = CommandLine.arguments.dropFirst().first { ["run", "mount", "prefetch"].contains($0) } ?? "run"
        return DaemonStatus(pid: getpid(), node: context.repo.identity.endpointID.hex, command: command,
                            started: started.timeIntervalSince1970, listen: listen, peers: peers, replication: replication)
    }
}
