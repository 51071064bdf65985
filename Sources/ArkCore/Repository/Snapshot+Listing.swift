import Dispatch
import Glibc
import Synchronization

extension Snapshot {
    /// One directory's entries as the walk needs them, and for each the manifest its stat
    /// cache row names if that row's stat data is the entry's (nil for other entries).
    struct Listing: Sendable {
        var children: [(FileName, Node)] = []
        var hits: [ObjectID?] = []
        /// The stat cache holds files this directory no longer has (deleted, renamed, or no
        /// longer regular files): the commit drops them (`WriteSession.pruneStat`).
        var staleCache = false
        /// Entries left out, with the reason, in directory order.
        var skipped: [([UInt8], String)] = []
        var warnings: [String] = []
        /// Set when the directory itself could not be opened.
        var openError: Errno?
        /// Its first subdirectories, submitted for listing as soon as it was listed (by child
        /// index), and the index of the first child not considered for that.
        var ahead: [Int: DirectoryFuture] = [:]
        var aheadScanned = 0
    }

    /// Subdirectories of one directory listed ahead of the walk at most (`Lookahead`).
    static let directoriesAhead = 8
    /// Directory entries listed ahead of the walk at most (summed over every level of its
    /// path): eight sibling directories of 100,000 files each must not all be held at once.
    static let entriesAheadLimit = 65_536

    /// Reads `path`'s entries (`lstat` of each) and, with `index`, the stat cache rows of its
    /// files; with `lookahead`, submits its first subdirectories for listing before it reads
    /// those rows. Runs on the walk's thread or a listing thread.
    static func list(
        _ path: [UInt8], excluded: (dev: UInt64, ino: UInt64)?, index: Index?, lookahead: Lookahead? = nil
    ) throws -> Listing {
        var out = Listing()
        guard let dir = withCPath(path, { opendir($0) }) else {
            out.openError = Errno.current
            return out
        }
        defer { closedir(dir) }
        // Entries are stat'ed relative to the open directory: a full path would be walked
        // component by component again for every entry.
        let fd = dirfd(dir)
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { FileName(cString: $0) }
            }
            if name.bytes == [0x2e] || name.bytes == [0x2e, 0x2e] { continue }
            var st = stat()
            let failure = withUnsafePointer(to: ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) == 0 ? nil : Errno.current }
            }
            let full = path + [0x2f] + name.bytes
            if let failure { out.skipped.append((full, "\(failure)")); continue }
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
                let n = FileName.withCString(name.bytes) { readlinkat(fd, $0, &buf, 4096) }
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
        if let lookahead { lookahead.submitSubdirectories(of: path, &out) }
        // Matched here, on the listing thread, so the walk's thread builds no path string and
        // hashes none for a file the cache has.
        out.hits = [ObjectID?](repeating: nil, count: out.children.count)
        if let index, out.openError == nil {
            let cache: StatDirectory
            do { cache = try index.statCache(in: path) } catch {
                // The listings this one submitted are nobody's now: let them go.
                for f in out.ahead.values { f.discard() }
                throw error
            }
            var cachedFiles = 0
            for (i, (name, node)) in out.children.enumerated() {
                guard case .file(let key, _, _) = node else { continue }
                out.hits[i] = cache.hit(name.bytes, key)
                if out.hits[i] != nil || cache.contains(name.bytes) { cachedFiles += 1 }
            }
            // Names it holds that are not regular files here (any, in a directory with none left).
            out.staleCache = cache.count > cachedFiles
        }
        return out
    }

    /// The listing of the directory the walk is entering (`frame.next - 1`) if it was
    /// submitted; first submits the next subdirectories, up to `directoriesAhead`.
    mutating func takeDirectoryAhead(_ frame: inout Frame) -> DirectoryFuture? {
        if let lookahead {
            while frame.directoriesScanned < frame.children.count, frame.directoriesAhead.count < Self.directoriesAhead,
                listedAhead.value < listedAhead.limit
            {
                let i = frame.directoriesScanned
                frame.directoriesScanned += 1
                guard case .directory = frame.children[i].1 else { continue }
                frame.directoriesAhead[i] = lookahead.submit(frame.path + [0x2f] + frame.children[i].0.bytes)
            }
        }
        return frame.directoriesAhead.removeValue(forKey: frame.next - 1)
    }
}

/// Directory entries listing threads have listed and the walk has not taken yet.
final class ListedAhead: Sendable {
    private let count = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var value: Int { count.load(ordering: .relaxed) }

    /// Counts `n` more entries unless that passes the limit (one listing is always allowed).
    func reserve(_ n: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while true {
            if current > 0 && current + n > limit { return false }
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + n, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ n: Int) { count.subtract(n, ordering: .relaxed) }
}
