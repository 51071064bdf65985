import Glibc

/// An advisory lock on `<store>/lock` (flock). Writers hold it shared while they add data;
/// `gc` holds it exclusively so it never races a writer. Released on deinit (or process death).
/// `<store>/setup.lock` is held exclusively while a process opens the store (node key, index
/// migrations), so two processes creating a new store at once do not both create its tables.
/// Lock files are opened without truncation and never through a symlink (`openLockFile`).
package final class StoreLock: Sendable {
    package enum Mode: Sendable { case shared, exclusive }
    private let fd: FileDescriptor

    /// Blocks until the lock is granted; `onWait` is called once if it has to wait.
    package init(store: String, mode: Mode, file: String = "lock", onWait: () -> Void = {}) throws {
        fd = try FileDescriptor.openLockFile(store + "/" + file)
        let op = mode == .shared ? LOCK_SH : LOCK_EX
        if flock(fd.raw, op | LOCK_NB) == 0 { return }
        let e = Errno.current
        guard e == .wouldBlock else { throw ArkError(.io, "lock \(fd.path): \(e)") }
        onWait()
        try syscall("lock \(fd.path)") { flock(fd.raw, op) }
    }

    deinit { flock(fd.raw, LOCK_UN) }
}
