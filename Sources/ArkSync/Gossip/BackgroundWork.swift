import Logging
import Synchronization

/// The engine's background work (pulls, forwarding, reconciliation, replication) as child
/// tasks of one task group that the engine owns, fed through an `AsyncStream`: no job is a
/// task of its own. `stop()` cancels the group (jobs still running see cancellation, queued
/// ones never start), so no work outlives the engine; `waitUntilIdle()` waits until every
/// submitted job ran.
final class BackgroundWork: Sendable {
    typealias Job = @Sendable () async -> Void

    private struct State {
        var stopped = false
        var runner: Task<Void, Never>?
        /// Jobs submitted and not yet finished (or dropped by `stop()`).
        var outstanding = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let jobs: AsyncStream<Job>
    private let submitted: AsyncStream<Job>.Continuation

    init() {
        (jobs, submitted) = AsyncStream<Job>.makeStream()
    }

    /// Starts the group's task (once).
    func start() {
        let jobs = self.jobs
        state.withLock { s in
            guard !s.stopped, s.runner == nil else { return }
            s.runner = Task { [self] in
                await withDiscardingTaskGroup { group in
                    for await job in jobs {
                        group.addTask { [self] in
                            await job()
                            finished(1)
                        }
                    }
                }
                drained()
            }
        }
    }

    /// Runs `body` as a child of the group, logging a failure; ignored once stopped.
    func submit(_ what: String, logger: Logger, _ body: @escaping @Sendable () async throws -> Void) {
        let accepted = state.withLock { s -> Bool in
            guard !s.stopped else { return false }
            s.outstanding += 1
            return true
        }
        guard accepted else { return }
        submitted.yield {
            do { try await body() } catch { logger.warning("\(what) failed: \(error)") }
        }
    }

    /// Cancels the running jobs and drops the queued ones; later submissions are ignored.
    func stop() {
        let runner = state.withLock { s -> Task<Void, Never>? in
            s.stopped = true
            return s.runner
        }
        submitted.finish()
        if let runner { runner.cancel() } else { drained() }
    }

    var isBusy: Bool { state.withLock { $0.outstanding > 0 } }

    /// Waits until every submitted job finished (including jobs they submitted meanwhile).
    func waitUntilIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { s -> Bool in
                guard s.outstanding > 0 else { return true }
                s.idleWaiters.append(c)
                return false
            }
            if idle { c.resume() }
        }
    }

    private func finished(_ count: Int) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.outstanding = max(0, s.outstanding - count)
            guard s.outstanding == 0 else { return [] }
            defer { s.idleWaiters = [] }
            return s.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// The group ended (stopped): jobs that never started count as done.
    private func drained() {
        finished(Int.max)
    }
}
