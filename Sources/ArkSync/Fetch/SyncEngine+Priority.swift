import ArkCore

/// On-demand reads before background replication: a mount's chunk fetch marks itself in
/// flight, and replication of `full` repos waits between its requests until none is, so a
/// reader waits for at most one replication response ahead of it instead of a whole backlog.
extension SyncEngine {
    func beginOnDemand() { state.withLock { $0.onDemand += 1 } }

    func endOnDemand() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.onDemand -= 1
            guard s.onDemand == 0 else { return [] }
            defer { s.onDemandIdleWaiters.removeAll() }
            return s.onDemandIdleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns when no on-demand fetch is in flight (at once if none is).
    func waitForOnDemandIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.onDemand == 0 { return true }
                s.onDemandIdleWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}
