import ArkCore

extension ChunkFetcher {
    /// Fetches `work` (chunk id, length) with `parallel` requests in flight, once a peer is
    /// connected (or after `waitingUpTo` seconds); `report` is told each outcome. Chunks are
    /// kept (not cache entries): `ark prefetch`, git-remote-ark.
    package func fetchAll(
        _ work: [(ObjectID, UInt64)], tracker: ConnectionTracker, waitingUpTo: Double = 10, parallel: Int = 4,
        report: @escaping @Sendable (Bool, UInt64) -> Void
    ) async {
        await tracker.waitForAnyConnection(timeout: waitingUpTo)
        await withTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                guard next < work.count else { return }
                let (id, length) = work[next]
                next += 1
                group.addTask { report((try? await self.fetch(id, preferring: nil)) != nil, length) }
            }
            for _ in 0..<max(1, parallel) { add() }
            while await group.next() != nil { add() }
        }
    }
}
