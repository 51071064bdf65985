import ArkCore

/// Background replication of a `full` repo's chunks: requests sized to one response (at most
/// `SyncLimits.responseBudget` bytes), a few in flight at once so the peer reads and sends while
/// this node stores, and every response stored as it arrives, each byte hashed once (by
/// `fetchObjects`). Memory stays bounded by the window, whatever the number of chunks.
extension SyncEngine {
    /// Requests in flight per replication.
    static let replicationWindow = 3
    /// Unsynced bytes after which replication makes its progress durable (and resumable).
    static let replicationCheckpointBytes = 64 << 20
    /// Assumed size of a chunk whose length is not known, when sizing requests.
    static let assumedChunkLength = 256 << 10

    private struct Received: Sendable {
        var group: [(id: ObjectID, length: Int)]
        var present: Set<ObjectID>
        var got: [ObjectID: [UInt8]]
    }

    /// Fetches absent chunks (value: raw length). A peer may itself still be replicating them
    /// (A -> B -> C), so what no peer had yet is asked for again with backoff (0.5 s doubling,
    /// six tries, ~30 s); what is still missing then stays known-but-absent until the next pull.
    /// Between requests it waits while a mount's on-demand fetch is in flight. The ids are read
    /// a page at a time and what is still missing goes to another `ObjectIDSet`, so memory stays
    /// bounded however many chunks there are.
    func replicate(_ chunks: ChunkIDs, repo: String, preferring: ObjectID?) async throws {
        replication.update(repo) { $0.running += 1 }
        defer { replication.update(repo) { $0.running -= 1 } }
        let session = try await PooledWriteSession.open(repository, on: blocking)
        var storedBytes = 0, unsynced = 0
        var remaining = chunks
        var delay: Double = 0.5
        for attempt in 0..<6 {
            if attempt > 0 {
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay *= 2
            }
            let stillMissing = ChunkIDs(ObjectIDSet())
            let groups = RequestGroups(remaining)
            try await withThrowingTaskGroup(of: Received.self) { tasks in
                for _ in 0..<Self.replicationWindow {
                    guard let g = try await blocking.run({ try groups.next() }) else { break }
                    tasks.addTask { try await self.fetchGroup(g, repo: repo, preferring: preferring) }
                }
                while let r = try await tasks.next() {
                    if let g = try await blocking.run({ try groups.next() }) {
                        tasks.addTask { try await self.fetchGroup(g, repo: repo, preferring: preferring) }
                    }
                    let received = r.got.values.reduce(0) { $0 + $1.count }
                    let checkpoint = unsynced + received >= Self.replicationCheckpointBytes
                    let missing = r.group.filter { !r.present.contains($0.id) && r.got[$0.id] == nil }
                    try await session.run { s in
                        try s.putChecked(r.got, kind: .chunk)
                        if checkpoint { try s.checkpoint() }
                    }
                    if !missing.isEmpty {
                        try await blocking.run {
                            let lengths = Dictionary(missing.map { ($0.id, Int64($0.length)) }, uniquingKeysWith: { a, _ in a })
                            try stillMissing.set.insertNew(missing.map(\.id), value: { lengths[$0]! })
                        }
                    }
                    storedBytes += received
                    unsynced = checkpoint ? 0 : unsynced + received
                    // Stored now, by this task or meanwhile by another (an on-demand read, a prefetch).
                    let done = UInt64(received) + r.group.reduce(UInt64(0)) { $0 + (r.present.contains($1.id) ? UInt64($1.length) : 0) }
                    replication.update(repo) {
                        $0.chunksDone += r.got.count + r.present.count; $0.bytesDone += done
                    }
                }
            }
            try await session.run { try $0.checkpoint() }
            unsynced = 0
            remaining = stillMissing
            if remaining.count == 0 { break }
        }
        let failed = remaining
        let failedBytes = try await blocking.run {
            var bytes: UInt64 = 0
            try failed.set.forEachPage(size: 8192) { page in bytes += page.reduce(UInt64(0)) { $0 + UInt64($1.value) } }
            return bytes
        }
        replication.update(repo) {
            $0.chunksFailed += failed.count; $0.bytesFailed += failedBytes
        }
        logger.debug(
            "replicated \(storedBytes) bytes of chunks of \(repo)\(failed.count == 0 ? "" : "; \(failed.count) chunks no peer has yet")")
    }

    private func fetchGroup(_ group: [(id: ObjectID, length: Int)], repo: String, preferring: ObjectID?) async throws -> Received {
        await waitForOnDemandIdle()
        let index = repository.index
        let ids = group.map(\.id)
        let present = try await blocking.run {
            let present = try index.presentSet(ids)
            try index.keepChunks(present)  // fetched on demand meanwhile: now needed for good
            return present
        }
        let missing = ids.filter { !present.contains($0) }
        let got = try await fetchObjects(
            missing.map { ($0, .chunk) }, from: peers(of: repo, first: preferring),
            deadline: configuration.requestDeadline, require: false)
        return Received(group: group, present: present, got: got)
    }
}

/// Consecutive runs of chunks that fit one response: at most `SyncLimits.responseBudget` bytes
/// (a chunk larger than that alone) and `SyncLimits.maxObjectsPerRequest` ids, cut from the
/// chunk set a page at a time.
final class RequestGroups: @unchecked Sendable {  // one replication task owns it and awaits each `next` (on the blocking pool) before the next
    private let chunks: ChunkIDs
    private var cursor = ObjectIDSet.Cursor()
    private var page: [(id: ObjectID, value: Int64)] = []
    private var position = 0

    init(_ chunks: ChunkIDs) { self.chunks = chunks }

    /// The next group; nil when every chunk was handed out.
    func next() throws -> [(id: ObjectID, length: Int)]? {
        var group: [(id: ObjectID, length: Int)] = []
        var bytes = 0
        while true {
            if position == page.count {
                page = try chunks.set.nextPage(&cursor, limit: 4096)
                position = 0
                if page.isEmpty { break }
            }
            let c = page[position]
            let length = c.value > 0 ? Int(c.value) : SyncEngine.assumedChunkLength
            if !group.isEmpty && (bytes + length > SyncLimits.responseBudget || group.count == SyncLimits.maxObjectsPerRequest) {
                break
            }
            group.append((c.id, Int(c.value)))
            bytes += length
            position += 1
        }
        return group.isEmpty ? nil : group
    }
}
