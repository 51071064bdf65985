import ArkCore
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Watches the store's index for commits by other processes (inotify on the SQLite files,
/// debounced) and calls `onChange` when the set of heads changed. Event driven: it sleeps in
/// poll(2) until the kernel reports a write or `stop()` wakes it.
public final class HeadWatcher: @unchecked Sendable { // `last` is touched only by the watcher thread
    private let storePath: String
    private let heads: @Sendable () throws -> [Head]
    private let onChange: @Sendable () -> Void
    private let inotify: Int32
    /// Read and write ends of a pipe that wakes the thread to stop.
    private let wake: Int32
    private let wakeWriter: Int32
    private var last: [Head] = []
    private var thread: Thread?
    private let logger = Logger(label: "ark.fs.watch")

    public init(storePath: String, heads: @escaping @Sendable () throws -> [Head], onChange: @escaping @Sendable () -> Void) throws {
        self.storePath = storePath
        self.heads = heads
        self.onChange = onChange
        inotify = inotify_init1(Int32(IN_CLOEXEC))
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wake = fds[0]
        wakeWriter = fds[1]
        guard inotify >= 0, wake >= 0 else { throw ArkError(.io, "inotify: \(Errno.current)") }
        guard inotify_add_watch(inotify, storePath, UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)) >= 0 else {
            throw ArkError(.io, "inotify watch on \(storePath): \(Errno.current)")
        }
    }

    deinit { close(inotify); close(wake); close(wakeWriter) }

    public func start() {
        last = (try? heads()) ?? []
        let t = Thread { [self] in loop() }
        t.name = "ark-head-watcher"
        thread = t
        t.start()
    }

    public func stop() {
        var one: UInt8 = 1
        _ = write(wakeWriter, &one, 1)
    }

    private func loop() {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 else { if errno == EINTR { continue }; return }
            if fds[1].revents != 0 { return }
            _ = read(inotify, &buf, buf.count)
            // Debounce: a commit writes the WAL several times; look once it settles.
            usleep(30_000)
            var drain = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
            while poll(&drain, 1, 0) > 0 { _ = read(inotify, &buf, buf.count); drain[0].revents = 0 }
            guard let now = try? heads() else { continue }
            if now != last {
                last = now
                logger.debug("heads changed; invalidating history directories")
                onChange()
            }
        }
    }
}
