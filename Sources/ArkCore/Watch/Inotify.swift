import Foundation
import Glibc

/// One inotify instance and a wake pipe. `wait` sleeps in poll(2) until the kernel reports an
/// event on a watched directory, the timeout passes, or `stop()` is called from another thread
/// (stopping is sticky: every later `wait` returns `.stopped`). inotify is not recursive:
/// `watchTree` adds a directory and the directories below it, and callers add new directories
/// as their creation events arrive.
package final class Inotify: @unchecked Sendable {  // `paths` is used only by the thread that waits; stop() only writes to the pipe
    package struct Event: Sendable {
        /// The watched directory (or file) the event is about.
        package var directory: String
        /// The entry in `directory` it names; empty for the watched path itself.
        package var name: String
        package var mask: UInt32

        package var path: String { name.isEmpty ? directory : directory + "/" + name }
        package var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
        /// A new entry appeared (created, or moved in).
        package var isCreation: Bool { mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 }
        /// The kernel's queue overflowed: events were lost, anything may have changed.
        package var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    }

    package enum Wait: Sendable {
        case events([Event])
        case timedOut
        case stopped
    }

    /// Entries written, created, renamed or deleted in a directory.
    package static let entryChanges = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM)

    private let fd: Int32
    private let wake: Int32
    private let wakeWriter: Int32
    private var paths: [Int32: String] = [:]
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    package init() throws {
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw ArkError(.io, "inotify: \(Errno.current)") }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            let e = Errno.current
            close(fd)
            throw ArkError(.io, "pipe: \(e)")
        }
        for p in fds { _ = fcntl(p, F_SETFD, FD_CLOEXEC) }
        wake = fds[0]
        wakeWriter = fds[1]
    }

    deinit { close(fd); close(wake); close(wakeWriter) }

    /// Watches `path` (a directory, or a file) for the events in `mask`.
    package func watch(_ path: String, mask: UInt32 = entryChanges) throws {
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { throw ArkError(.io, "inotify watch on \(path): \(Errno.current)") }
        paths[wd] = path
    }

    /// Watches `path` and every directory below it (symbolic links are not followed).
    package func watchTree(_ path: String, mask: UInt32 = entryChanges) throws {
        try watch(path, mask: mask | UInt32(IN_ONLYDIR))
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for name in names {
            var st = stat()
            let child = path + "/" + name
            guard lstat(child, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            // A directory removed since it was listed is not an error.
            do { try watchTree(child, mask: mask) } catch { if access(child, F_OK) == 0 { throw error } }
        }
    }

    /// Sleeps until events arrive (`timeout` in milliseconds; -1: no limit) or `stop()`.
    package func wait(timeout: Int32 = -1) -> Wait {
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, timeout)
            if n < 0 {
                if errno == EINTR { continue }
                return .stopped
            }
            if fds[1].revents != 0 { return .stopped }
            if n == 0 { return .timedOut }
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if got < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .stopped
            }
            return .events(parse(got))
        }
    }

    /// Waits for a first event `relevant` accepts, then until `quiet` milliseconds pass without
    /// another (or `maxDelay` since the first): one call per burst of changes. `relevant` sees
    /// every event (it may add watches for new directories). False when stopped.
    package func waitForBurst(quiet: Int32, maxDelay: Int32, relevant: (Event) -> Bool) -> Bool {
        var first: Date?
        while true {
            var timeout: Int32 = -1
            if let first {
                let left = Int32(maxDelay) - Int32(Date().timeIntervalSince(first) * 1000)
                if left <= 0 { return true }
                timeout = min(quiet, left)
            }
            switch wait(timeout: timeout) {
            case .stopped: return false
            case .timedOut: return true
            case .events(let events):
                // Every event goes through `relevant`, even after one matched.
                let matched = events.reduce(false) { relevant($1) || $0 }
                if matched && first == nil { first = Date() }
            }
        }
    }

    /// Wakes the waiting thread; it and every later `wait` return `.stopped`.
    package func stop() {
        var one: UInt8 = 1
        _ = write(wakeWriter, &one, 1)
    }

    private func parse(_ count: Int) -> [Event] {
        var events: [Event] = []
        buffer.withUnsafeBytes { raw in
            var at = 0
            let header = MemoryLayout<inotify_event>.size
            while at + header <= count {
                let wd = raw.loadUnaligned(fromByteOffset: at, as: Int32.self)
                let mask = raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                let len = Int(raw.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                var name = ""
                if len > 0 {
                    let bytes = raw[(at + header)..<min(count, at + header + len)]
                    name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                at += header + len
                if mask & UInt32(IN_IGNORED) != 0 { paths[wd] = nil; continue }
                events.append(Event(directory: paths[wd] ?? "", name: name, mask: mask))
            }
        }
        return events
    }
}
