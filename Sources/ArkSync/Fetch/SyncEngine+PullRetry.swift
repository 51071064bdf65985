import ArkCore
import Foundation

/// Asking again for an announced head whose pull failed transiently (a request timed out, a
/// connection closed, no peer answered), while the peer that delivered the announcement stays
/// connected: after `pullRetryDelay` seconds doubling to `pullRetryMaxDelay`, each ±20% at
/// random, at most `pullRetries` times, until a newer announcement of the head supersedes it.
/// A pull that failed because a peer sent bad bytes or a structure that lies is not retried:
/// the peer is hostile or broken, and asking again would only repeat it.
///
/// A retry waits on a timer of its own (one per head, `State.retryTimers`), not as background
/// work: `waitUntilIdle()` does not wait for it. When it fires, the pull runs as background work
/// in the writer's lane. Timers end with the engine (`stop()`) and with the delivering peer's
/// last connection.
extension SyncEngine {
    /// The delay before retry `attempt` (1 for the first), jittered.
    func retryDelay(_ attempt: Int) -> Double {
        let base = configuration.pullRetryDelay * pow(2, Double(max(0, attempt - 1)))
        return min(configuration.pullRetryMaxDelay, base) * Double.random(in: 0.8...1.2)
    }

    /// After a failed pull of `a` (delivered by `peer`): schedules retry `attempt` if `error` is
    /// transient and attempts remain; logs why not otherwise.
    func retryIfTransient(_ a: HeadAnnouncement, from peer: ObjectID, after error: any Error, attempt: Int, forwarding: Bool) {
        let what = "\(a.repo)/\(a.name)@\(a.writer.short) seq \(a.seq)"
        guard Self.isTransient(error) else {
            logger.warning("pulling \(what) from \(peer.short) failed: \(error)")
            return
        }
        guard attempt <= configuration.pullRetries else {
            logger.warning("pulling \(what) from \(peer.short) failed: \(error); gave up after \(configuration.pullRetries) retries")
            return
        }
        let delay = retryDelay(attempt)
        let key = "\(a.repo)/\(a.writer.hex)/\(a.name)"
        let scheduled = state.withLock { s -> Bool in
            guard case .running = s.phase else { return false }
            if let other = s.retryTimers[key] {
                // The same announcement again keeps its pending retry and its attempt count: a
                // peer re-sending it cannot restart the backoff.
                if other.seq >= a.seq { return false }
                other.task.cancel()
            }
            s.retryTimers[key] = (
                a.seq, peer,
                Task { [self] in
                    try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                    guard !Task.isCancelled else { return }
                    let due = state.withLock { s -> Bool in
                        guard s.retryTimers[key]?.seq == a.seq else { return false }
                        s.retryTimers[key] = nil
                        return true
                    }
                    guard due else { return }
                    spawn("retrying the pull of \(what)") { [self] in
                        await self.retryPull(a, from: peer, attempt: attempt, forwarding: forwarding)
                    }
                }
            )
            return true
        }
        if scheduled {
            logger.info("pulling \(what) from \(peer.short) failed: \(error); retry \(attempt) in \(String(format: "%.1f", delay)) s")
        }
    }

    /// Retry `attempt` of the pull of `a`, unless the head got there meanwhile, a newer
    /// announcement superseded it, or `peer` disconnected (its reconnect brings the head again).
    func retryPull(_ a: HeadAnnouncement, from peer: ObjectID, attempt: Int, forwarding: Bool) async {
        let index = repository.index
        let ref = HeadRef(repo: a.repo, owner: a.writer, name: a.name)
        let what = "\(a.repo)/\(a.name)@\(a.writer.short) seq \(a.seq)"
        do {
            let (current, last) = try await blocking.run {
                (try index.head(ref), try index.lastSeen(repo: a.repo, writer: a.writer, name: a.name))
            }
            if current == a.head { return }
            if let last, last.seq > a.seq { return }
        } catch {
            logger.warning("retrying the pull of \(what): \(error)")
            return
        }
        guard state.withLock({ $0.connections[peer] != nil }) else {
            logger.info("not retrying the pull of \(what): \(peer.short) disconnected")
            return
        }
        do {
            let adopted = try await pullLanes.with(a.writer) { try await self.adopt(a, from: peer) }
            if adopted {
                logger.info("pulled \(what) on retry \(attempt)")
                if forwarding { await forward(a, except: [peer, a.writer]) }
            }
        } catch {
            retryIfTransient(a, from: peer, after: error, attempt: attempt + 1, forwarding: forwarding)
        }
    }

    /// Ends the retry timers of pulls from `peer` (its last connection closed), or all of them.
    func cancelRetries(from peer: ObjectID? = nil) {
        let ended = state.withLock { s -> [Task<Void, Never>] in
            let keys = s.retryTimers.filter { peer == nil || $0.value.peer == peer }.map(\.key)
            return keys.compactMap { s.retryTimers.removeValue(forKey: $0)?.task }
        }
        ended.forEach { $0.cancel() }
    }

    /// Pulls waiting for a retry.
    package var pendingRetries: Int { state.withLock { $0.retryTimers.count } }
}
