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
        var group: [ObjectID]
        var present: Set<ObjectID>
        var got: [ObjectID: [UInt8]]
    }

    /// Fetches absent chunks. A peer may itself still be replicating them (A -> B -> C), so what
    /// no peer had yet is asked for again with backoff (0.5 s doubling, six tries, ~30 s); what is
    /// still missing then stays known-but-absent until the next pull. Between requests it waits
    /// while a mount's on-demand fetch is in flight.
    func replicate(_ chunks: [ObjectID], lengths: [ObjectID: Int] = [:], repo: String, preferring: ObjectID?) async throws {
        replication.update(repo) { $0.running += 1 }
        defer { replication.update(repo) { $0.running -= 1 } }
        func length(_ ids: some Sequence<ObjectID>) -> UInt64 { ids.reduce(0) { $0 + UInt64(lengths[$1] ?? 0) } }
        let session = try await PooledWriteSession.open(repository, on: blocking)
        var storedBytes = 0, unsynced = 0
        var remaining = chunks
        var delay: Double = 0.5
        for attempt in 0..<6 {
            if attempt > 0 {
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay *= 2
            }
            var stillMissing: [ObjectID] = []
            let groups = Self.requestGroups(remaining, lengths: lengths)
            try await withThrowingTaskGroup(of: Received.self) { tasks in
                var next = 0
                while next < min(groups.count, Self.replicationWindow) {
                    let g = groups[next]
                    tasks.addTask { try await self.fetchGroup(g, repo: repo, preferring: preferring) }
                    next += 1
                }
                while let r = try await tasks.next() {
                    if next < groups.count {
                        let g = groups[next]
                        tasks.addTask { try await self.fetchGroup(g, repo: repo, preferring: preferring) }
                        next += 1
                    }
                    let received = r.got.values.reduce(0) { $0 + $1.count }
                    let checkpoint = unsynced + received >= Self.replicationCheckpointBytes
                    try await session.run { s in
                        try s.putChecked(r.got, kind: .chunk)
                        if checkpoint { try s.checkpoint() }
                    }
                    storedBytes += received
                    unsynced = checkpoint ? 0 : unsynced + received
                    stillMissing += r.group.filter { !r.present.contains($0) && r.got[$0] == nil }
                    // Stored now, by this task or meanwhile by another (an on-demand read, a prefetch).
                    let done = UInt64(received) + length(r.present)
                    replication.update(repo) {
                        $0.chunksDone += r.got.count + r.present.count; $0.bytesDone += done
                    }
                }
            }
            try await session.run { try $0.checkpoint() }
            unsynced = 0
            remaining = stillMissing
            if remaining.isEmpty { break }
        }
        replication.update(repo) {
            $0.chunksFailed += remaining.count; $0.bytesFailed += length(remaining)
        }
        logger.debug(
            "replicated \(storedBytes) bytes of chunks of \(repo)\(remaining.isEmpty ? "" : "; \(remaining.count) chunks no peer has yet")")
    }

    private func fetchGroup(_ group: [ObjectID], repo: String, preferring: ObjectID?) async throws -> Received {
        await waitForOnDemandIdle()
        let index = repository.index
        let present = try await blocking.run {
            let present = try index.presentSet(group)
            try index.keepChunks(present)  // fetched on demand meanwhile: now needed for good
            return present
        }
        let missing = group.filter { !present.contains($0) }
        let got = try await fetchObjects(
            missing.map { ($0, .chunk) }, from: peers(of: repo, first: preferring),
            deadline: configuration.requestDeadline, require: false)
        return Received(group: group, present: present, got: got)
    }

    /// Consecutive runs of chunks that fit one response: at most `SyncLimits.responseBudget`
    /// bytes (a chunk larger than that alone) and `SyncLimits.maxObjectsPerRequest` ids.
    static func requestGroups(_ chunks: [ObjectID], lengths: [ObjectID: Int]) -> [[ObjectID]] {
        var groups: [[ObjectID]] = []
        var current: [ObjectID] = []
        var bytes = 0
        for id in chunks {
            let n = lengths[id] ?? assumedChunkLength
            if !current.isEmpty && (bytes + n > SyncLimits.responseBudget || current.count == SyncLimits.maxObjectsPerRequest) {
                groups.append(current)
                current = []
                bytes = 0
            }
            current.append(id)
            bytes += n
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }
}
