import ArkCore
import Foundation

/// Pulling history from peers: commits (discovered newest-first, published oldest-first), then
/// their trees and manifests, then chunks per the repo's fetch policy. Every object is checked
/// against the id it was requested as before it is stored; a remote head is set only in the
/// index transaction that publishes the whole metadata closure. Objects already stored are
/// skipped, so an interrupted pull resumes where it stopped.
extension SyncEngine {
    static let maxCommitsPerPull = 1_000_000

    /// What a pull fetches: pulls with equal keys run one after the other.
    struct PullKey: Hashable, Sendable {
        var repo: String
        var targets: Set<ObjectID>
    }

    /// Pulls `targets` (and their history) of `repo`, asking `preferring` first. Pulls of the
    /// same targets wait for each other (the second then finds the history stored and only sets
    /// its head); all others run at the same time.
    /// `seq`: the announcement that asked for `head` (it is not moved if a newer one was accepted).
    func pull(repo: String, commits targets: [ObjectID], head: HeadRef?, seq: UInt64? = nil, preferring: ObjectID?) async throws {
        try await pullFlights.with(PullKey(repo: repo, targets: Set(targets))) {
            try await pullOnce(repo: repo, targets: targets, head: head, seq: seq, preferring: preferring)
        }
    }

    private func pullOnce(repo: String, targets: [ObjectID], head: HeadRef?, seq: UInt64?, preferring: ObjectID?) async throws {
        let index = repository.index
        let repository = self.repository
        let peers = pullSources(repo: repo, preferring: preferring)
        let session = try await PooledWriteSession.open(repository, on: blocking)

        // 1. Commits: walk parents back until everything is in the index.
        var fetched: [ObjectID: Commit] = [:]
        var frontier = try await blocking.run { Set(try targets.filter { try !index.hasCommit($0) }) }
        while !frontier.isEmpty {
            let current = frontier
            let (stored, remote) = try await blocking.run { () -> ([ObjectID: Commit], [(ObjectID, ObjectKind)]) in
                var stored: [ObjectID: Commit] = [:]
                var remote: [(ObjectID, ObjectKind)] = []
                for id in current {
                    if try index.object(id)?.isPresent == true {
                        stored[id] = try repository.commit(id)
                    } else {
                        remote.append((id, .commit))
                    }
                }
                return (stored, remote)
            }
            fetched.merge(stored) { a, _ in a }
            var arrived: [(ObjectID, [UInt8])] = []
            for (id, bytes) in try await fetchObjects(
                remote, from: peers, deadline: configuration.requestDeadline, require: true,
                stallDeadline: configuration.stallDeadline)
            {
                let c: Commit
                do { c = try Commit(decoding: bytes) } catch {
                    throw SyncError.protocolViolation("commit \(id.short) does not decode: \(error)")
                }
                arrived.append((id, bytes))
                fetched[id] = c
            }
            let toStore = arrived
            try await session.run { s in for (id, bytes) in toStore { _ = try s.putVerified(id, .commit, bytes) } }
            var parents: [ObjectID] = []
            var seen = Set<ObjectID>()
            for id in current {
                for p in fetched[id]!.parents where fetched[p] == nil && seen.insert(p).inserted { parents.append(p) }
            }
            let candidates = parents
            frontier = try await blocking.run { Set(try candidates.filter { try !index.hasCommit($0) }) }
            guard fetched.count <= Self.maxCommitsPerPull else {
                throw SyncError.protocolViolation("more than \(Self.maxCommitsPerPull) commits in one pull")
            }
        }
        let ordered = Self.parentsFirst(fetched)

        // 2. Trees and manifests of the new commits, level by level in pages; chunk ids recorded as known.
        let walk = try await walkTrees(of: ordered.map(\.1.tree), from: peers, session: session)
        // Trees nesting deeper than commit and import allow are refused from peers too. Trees
        // whose subdirectories the walk did not keep are read back (stored and published now).
        try await session.run { try $0.checkpoint() }
        try await blocking.run {
            for (id, commit) in ordered {
                do {
                    _ = try TreeHeights.height(of: commit.tree) { t in try walk.subdirectories[t] ?? repository.treeSubdirectories(t) }
                } catch let e as ArkError where e.code == .unsupported {
                    throw SyncError.protocolViolation("commit \(id.short): \(e.message)")
                }
            }
        }
        let keep = configuration.repo(repo)?.fetch == .full
        let absent = try await blocking.run { try walk.missingChunks(index, keep: keep) }

        // 3. One transaction: commits, known-but-absent chunks, and the head.
        let cause = "sync from \(preferring?.short ?? "peers")"
        try await session.run { s in
            try s.publishFetched(
                commits: ordered, absentChunks: absent.ids.set, head: head, target: head == nil ? nil : targets.first,
                announcedSeq: seq, cause: cause)
        }
        if !ordered.isEmpty || head != nil {
            logger.debug("pulled \(ordered.count) commits of \(repo)\(head.map { ", head \($0)" } ?? "")")
        }

        // 4. Chunks, for repos that replicate everything.
        if keep, absent.count > 0 {
            replication.update(repo) { p in
                p.chunksQueued += absent.count
                p.bytesQueued += absent.bytes
            }
            spawn("replicating \(absent.count) chunks of \(repo)") { [self] in
                try await self.replicate(absent.ids, repo: repo, preferring: preferring)
            }
        }
    }

    /// Fetches the trees and manifests below `roots` that are not stored here, one level and
    /// one page of ids at a time, storing each page before the next (published as present at
    /// the session's checkpoints: their bytes are durable first). Objects already stored are
    /// read and walked too, so an interrupted pull finds what lies below them.
    private func walkTrees(of roots: [ObjectID], from peers: [any PeerConnection], session: PooledWriteSession) async throws
        -> PullWalk
    {
        let index = repository.index
        let repository = self.repository
        let walk = try await blocking.run { try PullWalk(roots: roots) }
        while try await blocking.run({ walk.advance() }) {
            // Each round goes one directory level deeper: a peer serving a chain of trees deeper
            // than the limit is refused at the first level past it, not after fetching it all.
            guard walk.treeLevels <= ObjectLimits.maxTreeDepth + 1 else {
                throw SyncError.protocolViolation("trees nest more than \(ObjectLimits.maxTreeDepth) levels deep")
            }
            while true {
                let loaded = try await blocking.run { () -> ([(ObjectID, ObjectKind, [UInt8])], [(ObjectID, ObjectKind)])? in
                    guard let page = try walk.nextPage() else { return nil }
                    var objects: [(ObjectID, ObjectKind, [UInt8])] = []
                    var remote: [(ObjectID, ObjectKind)] = []
                    for (id, kind) in page {
                        if try index.object(id)?.isPresent == true {
                            objects.append((id, kind, try repository.read(id, kind: kind)))
                        } else {
                            remote.append((id, kind))
                        }
                    }
                    return (objects, remote)
                }
                guard let loaded else { break }
                var objects = loaded.0
                let remote = loaded.1
                let kinds = Dictionary(remote, uniquingKeysWith: { a, _ in a })
                let got = try await fetchObjects(
                    remote, from: peers, deadline: configuration.requestDeadline, require: true,
                    stallDeadline: configuration.stallDeadline)
                try await session.run { s in for (id, bytes) in got { _ = try s.putVerified(id, kinds[id]!, bytes) } }
                for (id, bytes) in got { objects.append((id, kinds[id]!, bytes)) }
                let page = objects
                try await blocking.run { try walk.add(page) }
            }
        }
        return walk
    }

    /// Fetches `wanted` objects, asking each peer in turn for what is still missing. A peer that
    /// fails, times out, answers malformed bytes or sends an object that does not hash to its id
    /// is dropped for this request. With `stallDeadline`, every peer but the last gets only that
    /// long (another could serve instead); one that runs into it is marked stalled and asked
    /// again at the end with the full `deadline`. With `require`, anything no peer had is an error.
    func fetchObjects(
        _ wanted: [(ObjectID, ObjectKind)], from peers: [any PeerConnection], deadline: Double,
        require: Bool, stallDeadline: Double? = nil
    ) async throws -> [ObjectID: [UInt8]] {
        guard !wanted.isEmpty else { return [:] }
        let kinds = Dictionary(wanted, uniquingKeysWith: { a, _ in a })
        var result: [ObjectID: [UInt8]] = [:]
        // Peers that stalled since the pull began (an earlier round) go last too.
        let peers = stallDeadline == nil ? peers : peers.filter { !isStalled($0.remote) } + peers.filter { isStalled($0.remote) }
        var attempts = peers.enumerated().map { i, p in (p, i < peers.count - 1 ? min(stallDeadline ?? deadline, deadline) : deadline) }
        var next = 0
        while next < attempts.count, result.count < kinds.count {
            let (peer, limit) = attempts[next]
            next += 1
            switch await fetchMissing(wanted.map(\.0), from: peer, kinds: kinds, into: &result, deadline: limit) {
            case .timedOut where limit < deadline:
                markStalled(peer.remote)
                attempts.append((peer, deadline))
            case .timedOut: markStalled(peer.remote)
            case .answered: clearStalled(peer.remote)
            case .failed: break
            }
        }
        if require, let missing = kinds.keys.first(where: { result[$0] == nil }) {
            throw SyncError.remote(
                "no connected peer served \(kinds[missing]!) \(missing.short) (\(kinds.count - result.count) objects missing)")
        }
        return result
    }

    enum Attempt { case answered, timedOut, failed }

    /// Asks `peer` for every object of `order` not yet in `result`, in batches, until it has
    /// nothing more to give.
    private func fetchMissing(
        _ order: [ObjectID], from peer: any PeerConnection, kinds: [ObjectID: ObjectKind],
        into result: inout [ObjectID: [UInt8]], deadline: Double
    ) async -> Attempt {
        var pending = order.filter { result[$0] == nil }
        while !pending.isEmpty {
            let batch = Array(pending.prefix(SyncLimits.maxObjectsPerRequest))
            let objects: [WireObject]
            do {
                let reply = try await peer.request(SyncRequest.getObjects(batch).encoded, deadline: deadline)
                guard case .objects(let o) = try SyncResponse(decoding: reply) else {
                    throw SyncError.protocolViolation("get-objects answered with another response type")
                }
                objects = o
            } catch {
                logger.info("peer \(peer.remote.short) failed a get-objects request: \(error)")
                return error as? SyncError == .timeout ? .timedOut : .failed
            }
            var progress = false
            for o in objects {
                guard let kind = kinds[o.id], o.kind == kind, ObjectHasher.hash(kind, o.bytes) == o.id else {
                    logger.warning(
                        "peer \(peer.remote.short) sent bytes that are not \(kinds[o.id]?.description ?? "a requested object") \(o.id.short); trying another peer"
                    )
                    return .failed
                }
                if result.updateValue(o.bytes, forKey: o.id) == nil { progress = true }
            }
            if !progress { break }
            pending = pending.filter { result[$0] == nil }
        }
        return .answered
    }

    /// Commits ordered so every parent comes before its children (Kahn's algorithm).
    static func parentsFirst(_ commits: [ObjectID: Commit]) -> [(ObjectID, Commit)] {
        var waiting: [ObjectID: Int] = [:]
        var children: [ObjectID: [ObjectID]] = [:]
        for (id, c) in commits {
            let inside = Set(c.parents.filter { commits[$0] != nil })
            waiting[id] = inside.count
            for p in inside { children[p, default: []].append(id) }
        }
        var ready = waiting.filter { $0.value == 0 }.map(\.key).sorted()
        var out: [(ObjectID, Commit)] = []
        while let id = ready.popLast() {
            out.append((id, commits[id]!))
            for child in children[id] ?? [] {
                waiting[child]! -= 1
                if waiting[child] == 0 { ready.append(child) }
            }
        }
        return out
    }
}
