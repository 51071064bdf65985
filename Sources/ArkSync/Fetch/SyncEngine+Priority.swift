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

/// Peers that stall lose priority: a peer that let a metadata request run into its deadline is
/// asked after every other member for a while (`stallMemory`), or until it answers again.
extension SyncEngine {
    static let stallMemory: Duration = .seconds(60)

    func markStalled(_ peer: ObjectID) {
        state.withLock { $0.stalled[peer] = .now }
    }

    func clearStalled(_ peer: ObjectID) {
        _ = state.withLock { $0.stalled.removeValue(forKey: peer) }
    }

    func isStalled(_ peer: ObjectID) -> Bool {
        state.withLock { s in
            guard let since = s.stalled[peer] else { return false }
            if since.duration(to: .now) < Self.stallMemory { return true }
            s.stalled[peer] = nil
            return false
        }
    }

    /// The members to pull from: `preferring` first, then the others, with stalled peers last.
    func pullSources(repo: String, preferring: ObjectID?) -> [any PeerConnection] {
        let all = peers(of: repo, first: preferring)
        return all.filter { !isStalled($0.remote) } + all.filter { isStalled($0.remote) }
    }
}
