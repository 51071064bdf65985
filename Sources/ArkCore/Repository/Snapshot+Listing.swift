import Dispatch
import Glibc
import Synchronization

extension Snapshot {
    /// One directory's entries as the walk needs them, and the stat cache rows of its files.
    struct Listing: Sendable {
        var children: [(FileName, Node)] = []
        var cache: [String: (StatKey, ObjectID)] = [:]
        /// Entries left out, with the reason, in directory order.
        var skipped: [([UInt8], String)] = []
        var warnings: [String] = []
        /// Set when the directory itself could not be opened.
        var openError: Errno?
    }

    /// Subdirectories of one directory listed ahead of the walk by the reader threads. On a
    /// cold cache a re-commit is bound by `lstat` of every file: several directories listed at
    /// once keep the disk's queue full.
    static let directoriesAhead = 8

    /// Reads `path`'s entries (`lstat` of each) and, with `index`, the stat cache rows of its
    /// files. Runs on the walk's thread or a reader thread.
    static func list(_ path: [UInt8], excluded: (dev: UInt64, ino: UInt64)?, index: Index?) throws -> Listing {
        var out = Listing()
        guard let dir = withCPath(path, { opendir($0) }) else {
            out.openError = Errno.current
            return out
        }
        defer { closedir(dir) }
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { FileName(cString: $0) }
            }
            if name.bytes == [0x2e] || name.bytes == [0x2e, 0x2e] { continue }
            let full = path + [0x2f] + name.bytes
            var st = stat()
            guard withCPath(full, { lstat($0, &st) }) == 0 else { out.skipped.append((full, "\(Errno.current)")); continue }
            let mode = UInt16(st.st_mode & 0o7777)
            let mtime = Tree.Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: UInt32(st.st_mtim.tv_nsec))
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                let key = StatKey(
                    dev: Int64(st.st_dev), ino: Int64(st.st_ino), size: Int64(st.st_size),
                    mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                    ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
                out.children.append((name, .file(key: key, mode: mode, mtime: mtime)))
            case S_IFLNK:
                var buf = [CChar](repeating: 0, count: 4097)
                let n = withCPath(full) { readlink($0, &buf, 4096) }
                guard n > 0 else { out.skipped.append((full, "cannot read symlink: \(Errno.current)")); continue }
                // Any bytes: a target that is not UTF-8 is kept exactly (tree format v2).
                let target = buf[0..<n].map { UInt8(bitPattern: $0) }
                out.children.append((name, .symlink(target: target, mtime: mtime)))
            case S_IFDIR:
                if let ex = excluded, UInt64(st.st_dev) == ex.dev, UInt64(st.st_ino) == ex.ino {
                    out.warnings.append("skipping \(EntryPath(bytes: full)): it is the store itself"); continue
                }
                out.children.append((name, .directory(mode: mode, mtime: mtime)))
            case S_IFSOCK: out.skipped.append((full, "a socket is not stored"))
            case S_IFIFO: out.skipped.append((full, "a fifo is not stored"))
            case S_IFCHR, S_IFBLK: out.skipped.append((full, "a device is not stored"))
            default: out.skipped.append((full, "not a regular file, symlink or directory"))
            }
        }
        let hasFiles = out.children.contains { if case .file = $0.1 { true } else { false } }
        if hasFiles, let index, let text = String(validating: path, as: UTF8.self) {
            out.cache = try index.statCache(in: text)
        }
        return out
    }

    /// The reader threads' listing of the directory the walk is entering (`frame.next - 1`),
    /// if it was submitted; first submits the next subdirectories, up to `directoriesAhead`.
    mutating func takeDirectoryAhead(_ frame: inout Frame) -> DirectoryFuture? {
        if let readers {
            let excluded = self.excluded
            let index = hasCache ? session.repo.index : nil
            while frame.directoriesScanned < frame.children.count, frame.directoriesAhead.count < Self.directoriesAhead {
                let i = frame.directoriesScanned
                frame.directoriesScanned += 1
                guard case .directory = frame.children[i].1 else { continue }
                let path = frame.path + [0x2f] + frame.children[i].0.bytes
                let f = DirectoryFuture()
                frame.directoriesAhead[i] = f
                readers.submit { f.fulfil(Result { try Snapshot.list(path, excluded: excluded, index: index) }) }
            }
        }
        return frame.directoriesAhead.removeValue(forKey: frame.next - 1)
    }
}

/// A directory listing made by a reader thread, filled in once.
final class DirectoryFuture: Sendable {
    private let result = Mutex<Result<Snapshot.Listing, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func fulfil(_ r: Result<Snapshot.Listing, any Error>) {
        result.withLock { $0 = r }
        done.signal()
    }

    func wait() throws -> Snapshot.Listing {
        if let r = result.withLock({ $0 }) { return try r.get() }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
