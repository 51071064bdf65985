import Foundation
import Synchronization

/// A fixed set of threads for work that blocks: disk reads, SQLite, waits for a peer. Shaped
/// like NIOThreadPool: `start()` makes the threads, `submit` queues a callback, `run` hands a
/// closure over from `async` code (so a cooperative thread never blocks on the disk) and
/// `shutdown()` stops accepting work, lets the threads drain what is queued and joins them.
///
/// Its own threads rather than a global dispatch queue: that runs one thread per core, so
/// two jobs waiting on the disk left both cores idle while verified bytes waited to be
/// copied (a cold sequential read through a mount on 2 cores: 18% of samples idle). Here up
/// to `threadCount` jobs wait at once while the cores keep working.
///
/// The queue is bounded by `queueLimit`: `submit` beyond it runs the job on the submitting
/// thread instead (the caller blocks, as it would have without the pool; a job never waits
/// for a queue slot, so a pool thread that submits cannot deadlock). Work submitted after
/// `shutdown()` also runs inline.
package final class BlockingPool: Sendable {
    package let threadCount: Int
    package let queueLimit: Int
    private let name: String

    private enum Phase { case idle, running, stopping, stopped }

    private struct State {
        var phase = Phase.idle
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var queued: Int { jobs.count - head }
    }

    private let state = Mutex(State())
    /// Counts queued jobs (and, at shutdown, one wake-up per thread).
    private let ready = DispatchSemaphore(value: 0)
    /// Signalled once by each thread as it exits (for `shutdown()` to join them).
    private let exited = DispatchSemaphore(value: 0)

    package init(threadCount: Int, name: String, queueLimit: Int = 4096) {
        precondition(threadCount > 0 && queueLimit > 0)
        self.threadCount = threadCount
        self.queueLimit = queueLimit
        self.name = name
    }

    /// Starts the threads. Once only; a stopped pool does not restart.
    package func start() {
        let start = state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.phase = .running
            return true
        }
        guard start else { return }
        for i in 0..<threadCount {
            let t = Thread { [self] in work() }
            t.name = "\(name)-\(i)"
            t.start()
        }
    }

    /// Runs `job` on a pool thread, in submission order as threads free up; on the calling
    /// thread when the queue is full or the pool is not running.
    package func submit(_ job: @escaping @Sendable () -> Void) {
        let queued = state.withLock { s -> Bool in
            guard s.phase == .running, s.queued < queueLimit else { return false }
            s.jobs.append(job)
            return true
        }
        if queued { ready.signal() } else { job() }
    }

    /// Runs `body` on a pool thread and returns its result to the awaiting task.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            submit { c.resume(with: Result { try body() }) }
        }
    }

    /// Stops accepting work, waits until the queued jobs ran and joins the threads (for at
    /// most `timeout` seconds when given; false if some were still running then, and they
    /// end on their own once done). Idempotent. From a pool thread (a job dropping the
    /// pool's owner) it joins the others.
    @discardableResult
    package func shutdown(timeout: Double? = nil) -> Bool {
        let threads = state.withLock { s -> Int in
            guard s.phase == .running else {
                if s.phase == .idle { s.phase = .stopped }
                return 0
            }
            s.phase = .stopping
            return threadCount
        }
        guard threads > 0 else { return true }
        for _ in 0..<threads { ready.signal() }
        let own = inPool
        let deadline = timeout.map { DispatchTime.now() + $0 }
        for _ in 0..<(own ? threads - 1 : threads) {
            if let deadline {
                guard exited.wait(timeout: deadline) == .success else { return false }
            } else {
                exited.wait()
            }
        }
        state.withLock { $0.phase = .stopped }
        return true
    }

    /// Whether the calling thread is one of this pool's.
    /// (By pthread id, not Foundation's `threadDictionary`: storing a Swift value there boxes it
    /// through the runtime's bridging, whose lazy set-up raced with the main thread's first
    /// `print` and left both threads spinning in a `mount --daemon` child.)
    package var inPool: Bool {
        let me = pthread_self()
        return poolThreads.withLock { $0.contains(me) }
    }

    private let poolThreads = Mutex<Set<pthread_t>>([])

    private func work() {
        let me = pthread_self()
        poolThreads.withLock { _ = $0.insert(me) }
        while true {
            ready.wait()
            let next: (@Sendable () -> Void)?? = state.withLock { s in
                guard s.head < s.jobs.count else { return s.phase == .running ? .some(nil) : .none }
                let job = s.jobs[s.head]
                // The slot lets go of the job now, not when the queue is compacted: a finished
                // job's captures (a pull's response of up to 16 MiB) must not outlive it.
                s.jobs[s.head] = {}
                s.head += 1
                if s.head >= 64 && s.head * 2 >= s.jobs.count {
                    s.jobs.removeFirst(s.head)
                    s.head = 0
                }
                return .some(job)
            }
            guard let next else { break }
            next?()
        }
        exited.signal()
    }
}
