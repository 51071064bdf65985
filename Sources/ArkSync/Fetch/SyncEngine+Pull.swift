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
        var fetchedBytes = 0
        let byteLimit = configuration.maxCommitBytesPerPull
        func checkBytes() throws {
            guard fetchedBytes <= byteLimit else {
                throw SyncError.protocolViolation("more than \(byteLimit >> 20) MiB of commits in one pull")
            }
        }
        var frontier = try await blocking.run { Set(try targets.filter { try !index.hasCommit($0) }) }
        while !frontier.isEmpty {
            let current = frontier
            let (stored, storedBytes, remote) = try await blocking.run { () -> ([ObjectID: Commit], Int, [(ObjectID, ObjectKind)]) in
                var stored: [ObjectID: Commit] = [:]
                var storedBytes = 0
                var remote: [(ObjectID, ObjectKind)] = []
                for id in current {
                    if let row = try index.object(id), row.isPresent {
                        stored[id] = try repository.commit(id)
                        storedBytes += row.rawLength
                    } else {
                        remote.append((id, .commit))
                    }
                }
                return (stored, storedBytes, remote)
            }
            fetched.merge(stored) { a, _ in a }
            fetchedBytes += storedBytes
            try checkBytes()
            // Each response is decoded and stored as it arrives, not held for the round.
            try await fetchObjects(
                remote, from: peers, deadline: configuration.requestDeadline, require: true,
                stallDeadline: configuration.stallDeadline
            ) { objects in
                for o in objects {
                    do { fetched[o.id] = try Commit(decoding: o.bytes) } catch {
                        throw SyncError.protocolViolation("commit \(o.id.short) does not decode: \(error)")
                    }
                    fetchedBytes += o.bytes.count
                }
                try checkBytes()
                try await session.run { s in try s.putChecked(objects.map { (key: $0.id, value: $0.bytes) }, kind: .commit) }
            }
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
    /// one page of ids at a time. Each response is checked against what the objects' parents
    /// say they are, then stored (published as present at the session's checkpoints: their
    /// bytes are durable first) and dropped before the next: the walk holds one response, or
    /// `PullWalk.batchBytes` of objects read back, never a page. Objects already stored are
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
                let remote = try await blocking.run { () -> [(ObjectID, ObjectKind)]? in
                    guard let page = try walk.nextPage() else { return nil }
                    let rows = try index.objects(page.map(\.0))
                    var remote: [(ObjectID, ObjectKind)] = []
                    var batch: [(ObjectID, [UInt8])] = []
                    var bytes = 0
                    for (id, expected) in page {
                        guard let row = rows[id], row.isPresent else {
                            remote.append((id, expected.kind))
                            continue
                        }
                        guard row.kind == expected.kind else {
                            throw SyncError.protocolViolation(
                                "\(id.short) is named as \(expected.description), but it is a \(row.kind) here")
                        }
                        if !batch.isEmpty && bytes + row.rawLength > PullWalk.batchBytes {
                            try walk.add(batch)
                            batch.removeAll()
                            bytes = 0
                        }
                        batch.append((id, try repository.read(id, kind: row.kind)))
                        bytes += row.rawLength
                    }
                    try walk.add(batch)
                    return remote
                }
                guard let remote else { break }
                try await fetchObjects(
                    remote, from: peers, deadline: configuration.requestDeadline, require: true,
                    stallDeadline: configuration.stallDeadline
                ) { objects in
                    // Checked before stored: an object that is not what its parent says is not kept.
                    try await blocking.run { try walk.add(objects.map { ($0.id, $0.bytes) }) }
                    try await session.run { s in
                        for kind in [ObjectKind.tree, .manifest] {
                            try s.putChecked(objects.lazy.filter { $0.kind == kind }.map { (key: $0.id, value: $0.bytes) }, kind: kind)
                        }
                    }
                }
            }
        }
        try await blocking.run { try walk.finish() }
        largestPullBatch.withLock { $0 = max($0, walk.largestBatch) }
        logger.debug("walked \(walk.objectsWalked) trees and manifests, \(walk.bytesWalked) bytes, at most \(walk.largestBatch) at once")
        return walk
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
