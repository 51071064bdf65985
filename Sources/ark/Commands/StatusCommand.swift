import ArgumentParser
import ArkCore
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show peers, every member's heads per repo with how much of each is stored here, and replication progress.",
        discussion: """
            Heads and stored bytes come from the index, so this works without a daemon. When a daemon \
            (ark run, or a syncing ark mount) runs on this store, its live state is added: which peers \
            are connected, their addresses, when they were last heard from, bytes in/out, and \
            background replication of full repos.
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let ctx = try store.open()
        let report = try StatusReport(ctx, daemon: StatusSocket.query(store: ctx.repo.path))
        if json { Terminal.json(report) } else { report.printTable() }
    }
}

extension StatusReport {
    init(_ ctx: StoreContext, daemon probe: StatusSocket.Probe) throws {
        let me = ctx.repo.identity.endpointID
        node = me.hex
        store = ctx.repo.path
        let usage = try ctx.repo.index.cacheUsage()
        cache = Cache(chunks: usage.chunks, bytes: usage.bytes, limit: ctx.config.cacheLimit)
        var live: DaemonStatus?
        switch probe {
        case .running(let s):
            live = s
            daemon = Daemon(
                running: true, pid: .init(s.pid), command: .init(s.command), listen: .init(s.listen),
                started: .init(Self.iso(s.started)), error: nil)
        case .notRunning:
            daemon = Daemon(running: false, pid: nil, command: nil, listen: nil, started: nil, error: nil)
        case .unreachable(let why):
            daemon = Daemon(running: false, pid: nil, command: nil, listen: nil, started: nil, error: .init(why))
        }

        // Peers: every remote of ark.toml, then any other node the daemon reports.
        var addrs: [ObjectID: [String]] = [:]
        var order: [ObjectID] = []
        for r in ctx.config.repos {
            for p in r.remotes {
                if addrs[p.nodeID] == nil { order.append(p.nodeID) }
                addrs[p.nodeID, default: []] += p.addrs.filter { !(addrs[p.nodeID] ?? []).contains($0) }
            }
        }
        var livePeers: [ObjectID: DaemonStatus.Peer] = [:]
        for p in live?.peers ?? [] {
            guard let id = ObjectID(hex: p.node) else { continue }
            livePeers[id] = p
            if addrs[id] == nil { addrs[id] = []; order.append(id) }
        }
        peers = order.map { id in
            let l = livePeers[id]
            return Peer(
                name: .init(ctx.config.peerName(of: id)), node: id.hex, addrs: addrs[id] ?? [], address: .init(l?.address),
                connected: l?.connected ?? false,
                state: .init(live == nil ? nil : l?.connected == true ? "connected" : l?.refusal != nil ? "refused" : "offline"),
                refusal: .init(l?.refusal), connectedSince: .init(l?.connectedSince.map(Self.iso)),
                lastSeen: .init(l?.lastSeen.map(Self.iso)), bytesIn: l?.bytesIn ?? 0, bytesOut: l?.bytesOut ?? 0)
        }

        // Repos: those of ark.toml, then any other with heads in the index.
        let heads = try ctx.repo.index.heads()
        var repoIDs = ctx.config.repos.map(\.id)
        for h in heads where !repoIDs.contains(h.ref.repo) { repoIDs.append(h.ref.repo) }
        var presence: [ObjectID: TreePresence] = [:]  // per tree: heads often share one
        let walked = try Self.treesToWalk(heads, me: me, index: ctx.repo.index)
        let replication = Dictionary((live?.replication ?? []).map { ($0.repo, $0) }, uniquingKeysWith: { a, _ in a })
        repos = try repoIDs.map { id in
            let own = heads.filter { $0.ref.repo == id }.sorted { a, b in
                // This node's heads first, then by peer name, then head name.
                let ka = (a.ref.owner == me ? 0 : 1, ctx.display(a.ref)), kb = (b.ref.owner == me ? 0 : 1, ctx.display(b.ref))
                return ka < kb
            }
            let list = try own.map { h -> Head in
                guard let c = try ctx.repo.index.commit(h.commit) else {
                    throw ArkError(.missing, "head \(ctx.display(h.ref)) points at commit \(h.commit), which is not in the index")
                }
                var p: TreePresence?
                if let cached = presence[c.tree] {
                    p = cached
                } else if walked.contains(c.tree) {
                    p = try ctx.repo.presence(ofTree: c.tree)
                    presence[c.tree] = p
                }
                return Head(
                    ref: ctx.display(h.ref), name: h.ref.name, owner: h.ref.owner.hex,
                    ownerName: .init(h.ref.owner == me ? nil : ctx.config.peerName(of: h.ref.owner)),
                    own: h.ref.owner == me, commit: h.commit.hex, generation: c.generation,
                    time: Format.iso(c.committerTime, tz: c.committerTZ),
                    updated: Self.iso(Double(h.updated)), chunksTotal: .init(p?.chunks), chunksPresent: .init(p?.presentChunks),
                    bytesTotal: .init(p?.bytes), bytesPresent: .init(p?.presentBytes))
            }
            let fetch = ctx.config.repos.first { $0.id == id }.map(\.fetch.rawValue)
            let rep: Nullable<Replication> =
                live == nil
                ? nil
                : .init(
                    replication[id].map {
                        Replication(
                            chunksQueued: $0.chunksQueued, chunksDone: $0.chunksDone, chunksFailed: $0.chunksFailed,
                            chunksPending: max(0, $0.chunksQueued - $0.chunksDone - $0.chunksFailed),
                            bytesQueued: $0.bytesQueued, bytesDone: $0.bytesDone, bytesFailed: $0.bytesFailed,
                            bytesPending: $0.bytesQueued > $0.bytesDone + $0.bytesFailed
                                ? $0.bytesQueued - $0.bytesDone - $0.bytesFailed : 0,
                            running: $0.running > 0)
                    }
                        ?? Replication(
                            chunksQueued: 0, chunksDone: 0, chunksFailed: 0, chunksPending: 0, bytesQueued: 0, bytesDone: 0,
                            bytesFailed: 0, bytesPending: 0, running: false))
            return Repo(id: id, fetch: .init(fetch), heads: list, replication: rep)
        }
    }

    /// Distinct trees whose presence one `ark status` computes at most: each is a walk of all its
    /// trees and manifests, and peers may hold many heads (up to `max_heads_per_writer` each).
    static let maxTreesWalked = 64

    /// The trees to walk: those of this node's heads first, then of the most recently moved
    /// peer heads, up to `maxTreesWalked` distinct trees. Other heads show no presence.
    static func treesToWalk(_ heads: [ArkCore.Head], me: ObjectID, index: Index) throws -> Set<ObjectID> {
        let ordered = heads.sorted { a, b in
            (a.ref.owner == me ? 0 : 1, -a.updated) < (b.ref.owner == me ? 0 : 1, -b.updated)
        }
        var trees = Set<ObjectID>()
        for h in ordered where trees.count < maxTreesWalked {
            if let c = try index.commit(h.commit) { trees.insert(c.tree) }
        }
        return trees
    }

    /// Seconds since 1970 as ISO 8601 in this machine's offset.
    static func iso(_ t: Double) -> String {
        let s = Int64(t.rounded(.down))
        return Format.iso(s, tz: Format.localOffsetMinutes(at: s))
    }
}
