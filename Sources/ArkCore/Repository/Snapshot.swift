import Foundation
import Glibc

/// Snapshots a directory into trees, manifests and chunks through a `WriteSession`.
/// Regular files, executables, symlinks and (empty) directories are kept with their names (as
/// bytes), permission bits and modification times; other file types, and entries that cannot be
/// read, are skipped and listed in `skipped`. Files whose stat data matches the stat cache are
/// not read.
package struct Snapshot {
    package struct Progress: Sendable {
        package var bytesDone: UInt64 = 0
        package var bytesTotal: UInt64 = 0
        package var filesDone = 0
        package var filesTotal = 0
        package var filesReused = 0
    }

    /// What a scan found: directories in a flat list (a child directory is an index into it,
    /// always after its parent's), so neither the scan nor the store recurses.
    /// An entry the snapshot left out, and why (unreadable, vanished, or a type not stored).
    package struct Skipped: Sendable {
        package var path: EntryPath
        package var reason: String
    }

    private enum Node {
        /// `text`: the path as a String when it is UTF-8 (the stat cache's key), else nil.
        case file(path: [UInt8], text: String?, key: StatKey, mode: UInt16, mtime: Tree.Timestamp)
        case symlink(target: [UInt8], mtime: Tree.Timestamp)
        case directory(Int, mode: UInt16, mtime: Tree.Timestamp)
    }

    private struct Directory {
        var path: [UInt8]
        var depth: Int
        var children: [(FileName, Node)] = []
    }

    package let session: WriteSession
    package let root: String
    package var warn: (String) -> Void = { _ in }
    package var onProgress: (Progress) -> Void = { _ in }
    /// Entries left out of the snapshot, in walk order.
    package private(set) var skipped: [Skipped] = []
    private var progress = Progress()
    private var cache: [String: (StatKey, ObjectID)] = [:]
    private let startTime = Date().timeIntervalSince1970
    private var excluded: (dev: UInt64, ino: UInt64)?

    package init(session: WriteSession, root: String) {
        self.session = session
        self.root = root
    }

    /// Returns the root tree id and its total size.
    package mutating func run() throws -> (tree: ObjectID, size: UInt64) {
        var st = stat()
        guard lstat(root, &st) == 0 else { throw ArkError(.invalidArgument, "cannot read \(root): \(Errno.current)") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw ArkError(.invalidArgument, "\(root) is not a directory") }
        var sst = stat()
        if stat(session.repo.path, &sst) == 0 { excluded = (UInt64(sst.st_dev), UInt64(sst.st_ino)) }
        cache = try session.repo.index.statCache(under: root)
        let dirs = try scan()
        onProgress(progress)
        let result = try store(dirs)
        onProgress(progress)
        return result
    }

    /// Every directory under `root`, breadth first with a work list. Deeper than
    /// `ObjectLimits.maxTreeDepth` directories is refused as import and pulls refuse it.
    private mutating func scan() throws -> [Directory] {
        var dirs = [Directory(path: Array(root.utf8), depth: 0)]
        var next = 0
        while next < dirs.count {
            let (path, depth) = (dirs[next].path, dirs[next].depth)
            guard depth <= ObjectLimits.maxTreeDepth else {
                throw ArkError(.unsupported, "\(root) nests directories more than \(ObjectLimits.maxTreeDepth) levels deep")
            }
            var children: [(FileName, Node)] = []
            for (name, child) in try scan(directory: path, isRoot: next == 0) {
                if case .directory(_, let mode, let mtime) = child {
                    children.append((name, .directory(dirs.count, mode: mode, mtime: mtime)))
                    dirs.append(Directory(path: path + [0x2f] + name.bytes, depth: depth + 1))
                } else {
                    children.append((name, child))
                }
            }
            dirs[next].children = children
            next += 1
        }
        return dirs
    }

    /// One directory's entries; a subdirectory comes back as `.directory(0)`, to be numbered.
    private mutating func scan(directory path: [UInt8], isRoot: Bool) throws -> [(FileName, Node)] {
        guard let dir = Snapshot.withCPath(path, { opendir($0) }) else {
            let err = Errno.current
            guard !isRoot else { throw ArkError(.io, "cannot open directory \(EntryPath(bytes: path)): \(err)") }
            skip(path, "cannot open directory: \(err)")
            return []
        }
        defer { closedir(dir) }
        var children: [(FileName, Node)] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { FileName(cString: $0) }
            }
            if name.bytes == [0x2e] || name.bytes == [0x2e, 0x2e] { continue }
            let full = path + [0x2f] + name.bytes
            var st = stat()
            guard Snapshot.withCPath(full, { lstat($0, &st) }) == 0 else { skip(full, "\(Errno.current)"); continue }
            let mode = UInt16(st.st_mode & 0o7777)
            let mtime = Tree.Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: UInt32(st.st_mtim.tv_nsec))
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                let key = StatKey(dev: Int64(st.st_dev), ino: Int64(st.st_ino), size: Int64(st.st_size),
                                  mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                                  ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
                let text = String(validating: full, as: UTF8.self)
                children.append((name, .file(path: full, text: text, key: key, mode: mode, mtime: mtime)))
                progress.filesTotal += 1
                if cacheHit(text, key) == nil { progress.bytesTotal += UInt64(st.st_size) }
            case S_IFLNK:
                var buf = [CChar](repeating: 0, count: 4097)
                let n = Snapshot.withCPath(full) { readlink($0, &buf, 4096) }
                guard n > 0 else { skip(full, "cannot read symlink: \(Errno.current)"); continue }
                // Any bytes: a target that is not UTF-8 is kept exactly (tree format v2).
                let target = buf[0..<n].map { UInt8(bitPattern: $0) }
                children.append((name, .symlink(target: target, mtime: mtime)))
            case S_IFDIR:
                if let ex = excluded, UInt64(st.st_dev) == ex.dev, UInt64(st.st_ino) == ex.ino {
                    warn("skipping \(EntryPath(bytes: full)): it is the store itself"); continue
                }
                children.append((name, .directory(0, mode: mode, mtime: mtime)))
            case S_IFSOCK: skip(full, "a socket is not stored")
            case S_IFIFO: skip(full, "a fifo is not stored")
            case S_IFCHR, S_IFBLK: skip(full, "a device is not stored")
            default: skip(full, "not a regular file, symlink or directory")
            }
        }
        return children
    }

    private mutating func skip(_ full: [UInt8], _ reason: String) {
        skipped.append(Skipped(path: EntryPath(bytes: full), reason: reason))
    }

    /// The cached manifest of `path` if its stat data is unchanged. The cache is keyed by text
    /// paths, so a path that is not UTF-8 is never cached (two such paths could repair alike).
    private func cacheHit(_ text: String?, _ key: StatKey) -> ObjectID? {
        guard let text, let (cached, manifest) = cache[text], cached == key else { return nil }
        return manifest
    }

    static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try FileName.withCString(path, body)
    }

    /// Stores files and trees depth first, in the order a recursive walk would, with an
    /// explicit stack; returns the root tree and its total size.
    private mutating func store(_ dirs: [Directory]) throws -> (tree: ObjectID, size: UInt64) {
        struct Frame { var dir: Int; var next = 0; var entries: [Tree.Entry] = [] }
        var stack = [Frame(dir: 0)]
        while let top = stack.indices.last {
            let children = dirs[stack[top].dir].children
            if stack[top].next < children.count {
                let (name, child) = children[stack[top].next]
                stack[top].next += 1
                switch child {
                case .symlink(let target, let mtime):
                    var e = Tree.Entry.symlink(name, bytes: target)
                    e.mtime = mtime
                    stack[top].entries.append(e)
                case .file(let path, let text, let key, let mode, let mtime):
                    guard let (manifest, size) = try store(file: path, text: text, key: key) else { continue }
                    var e = Tree.Entry.file(name, manifest: manifest, size: size, executable: mode & 0o111 != 0)
                    e.mode = mode; e.mtime = mtime
                    stack[top].entries.append(e)
                case .directory(let index, _, _):
                    stack.append(Frame(dir: index))
                }
                continue
            }
            let done = stack.removeLast()
            let tree = try Tree(entries: done.entries)
            let id = try session.put(.tree, tree.encoded())
            guard let parent = stack.indices.last else { return (id, tree.totalSize) }
            let (name, node) = dirs[stack[parent].dir].children[stack[parent].next - 1]
            var e = Tree.Entry.directory(name, tree: id, size: tree.totalSize)
            if case .directory(_, let mode, let mtime) = node { e.mode = mode; e.mtime = mtime }
            stack[parent].entries.append(e)
        }
        preconditionFailure("the root frame returns")
    }

    /// The file's manifest and size, or nil if it cannot be opened (it is then in `skipped`).
    private mutating func store(file path: [UInt8], text: String?, key: StatKey) throws -> (ObjectID, UInt64)? {
        if let manifest = cacheHit(text, key) {
            progress.filesDone += 1; progress.filesReused += 1
            return (manifest, UInt64(key.size))
        }
        let fd = Snapshot.withCPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else { skip(path, "cannot read: \(Errno.current)"); return nil }
        defer { close(fd) }
        var p = progress
        let callback = onProgress
        let shown = text ?? EntryPath(bytes: path).description
        let (manifest, size) = try session.putFile(fd: fd, path: shown) { n in p.bytesDone += n; callback(p) }
        progress.bytesDone = p.bytesDone
        progress.filesDone += 1
        // Racy-clean rule: a file modified within 2 s of the snapshot may change again
        // without its stat data changing, so it is not cached.
        if Double(key.mtimeNs) / 1e9 < startTime - 2, UInt64(key.size) == size, let text {
            session.rememberStat(path: text, key: key, manifest: manifest)
        }
        return (manifest, size)
    }
}
