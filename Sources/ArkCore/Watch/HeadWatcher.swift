import Foundation
import Glibc
import Logging

/// Watches the store's index for commits (by other processes or this one: inotify on the
/// SQLite files, debounced) and calls `onChange` when the set of heads changed. Event driven:
/// it sleeps in poll(2) until the kernel reports a write or `stop()` wakes it.
package final class HeadWatcher: @unchecked Sendable {  // `last` is touched only by the watcher thread; `thread` is set by start() before it runs
    private let heads: @Sendable () throws -> [Head]
    private let onChange: @Sendable () -> Void
    private let inotify: Inotify
    private var last: [Head] = []
    private var thread: Thread?
    /// Signalled once when the watcher thread has left its loop (for `stop()` to join it).
    private let finished = DispatchSemaphore(value: 0)
    private let logger = Logger(label: "ark.fs.watch")

    package init(storePath: String, heads: @escaping @Sendable () throws -> [Head], onChange: @escaping @Sendable () -> Void) throws {
        self.heads = heads
        self.onChange = onChange
        inotify = try Inotify()
        try inotify.watch(storePath, mask: UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE))
    }

    package func start() {
        last = (try? heads()) ?? []
        let t = Thread { [self] in
            loop()
            finished.signal()
        }
        t.name = "ark-head-watcher"
        thread = t
        t.start()
    }

    /// Stops the watcher and waits until its thread has finished (at most `timeout` seconds
    /// when given): once this returned true, `onChange` is not running and will not run
    /// again. Idempotent; from `onChange` itself it only stops (a thread cannot wait for
    /// itself) and returns false.
    @discardableResult
    package func stop(timeout: Double? = nil) -> Bool {
        inotify.stop()
        guard let thread else { return true }
        guard Thread.current != thread else { return false }
        if let timeout {
            guard finished.wait(timeout: .now() + timeout) == .success else { return false }
        } else {
            finished.wait()
        }
        finished.signal()  // for any later or concurrent stop()
        return true
    }

    private func loop() {
        // Debounce: a commit writes the WAL several times; look once it settles (30 ms quiet,
        // at most 250 ms after the first write so a long stream of writes still gets seen).
        while inotify.waitForBurst(quiet: 30, maxDelay: 250, relevant: { _ in true }) {
            guard let now = try? heads() else { continue }
            if now != last {
                last = now
                logger.debug("heads changed")
                onChange()
            }
        }
    }
}
