import Foundation
import Glibc

/// Snapshots a directory into trees, manifests and chunks through a `WriteSession`.
/// Regular files, executables, symlinks and (empty) directories are kept with their names (as
/// bytes), permission bits and modification times; other file types, and entries that cannot be
/// read, are skipped and listed in `skipped`. Files whose stat data matches the stat cache are
/// not read.
///
/// The walk streams, depth first: a directory is read when the walk enters it and its tree is
/// stored when its subtree is done, so only the directories on the current path (their entries
/// and the stat cache rows of their files) are in memory, however many files the tree holds.
package struct Snapshot {
    package struct Progress: Sendable {
        package var bytesDone: UInt64 = 0
        package var bytesTotal: UInt64 = 0
        package var filesDone = 0
        package var filesTotal = 0
        package var filesReused = 0
    }

    /// An entry the snapshot left out, and why (unreadable, vanished, or a type not stored).
    package struct Skipped: Sendable {
        package var path: EntryPath
        package var reason: String
    }

    private enum Node {
        case file(key: StatKey, mode: UInt16, mtime: Tree.Timestamp)
        case symlink(target: [UInt8], mtime: Tree.Timestamp)
        case directory(mode: UInt16, mtime: Tree.Timestamp)
    }

    /// A directory on the walk's current path: its entries as read, the tree entries stored
    /// so far, and the stat cache rows of the files directly in it.
    private struct Frame {
        var path: [UInt8]
        var children: [(FileName, Node)]
        var cache: [String: (StatKey, ObjectID)]
        var next = 0
        var entries: [Tree.Entry] = []
    }

    package let session: WriteSession
    package let root: String
    package var warn: (String) -> Void = { _ in }
    /// Called as the walk goes. Totals count what the walk has found so far: they grow until
    /// the last directory is read.
    package var onProgress: (Progress) -> Void = { _ in }
    /// Entries left out of the snapshot, in walk order.
    package private(set) var skipped: [Skipped] = []
    /// The most directory entries the walk held at once (on its path from the root): bounded
    /// by the tree's shape, not by how many files it holds.
    package private(set) var peakEntriesHeld = 0
    private var entriesHeld = 0
    private var progress = Progress()
    private let startTime = Date().timeIntervalSince1970
    private var excluded: (dev: UInt64, ino: UInt64)?
    /// False when no file under `root` is in the stat cache (a first commit): no directory asks.
    private var hasCache = true

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
        hasCache = try session.repo.index.hasStatCache(under: root)
        let result = try walk()
        onProgress(progress)
        return result
    }

    /// Stores files and trees depth first with an explicit stack of the directories on the
    /// current path; a directory's tree is stored when its last entry is. Deeper than
    /// `ObjectLimits.maxTreeDepth` directories is refused as import and pulls refuse it.
    private mutating func walk() throws -> (tree: ObjectID, size: UInt64) {
        var stack = [try enter(Array(root.utf8), isRoot: true)]
        while let top = stack.indices.last {
            if stack[top].next < stack[top].children.count {
                let (name, child) = stack[top].children[stack[top].next]
                stack[top].next += 1
                switch child {
                case .symlink(let target, let mtime):
                    var e = Tree.Entry.symlink(name, bytes: target)
                    e.mtime = mtime
                    stack[top].entries.append(e)
                case .file(let key, let mode, let mtime):
                    let path = stack[top].path + [0x2f] + name.bytes
                    guard let (manifest, size) = try store(file: path, key: key, cache: stack[top].cache) else { continue }
                    var e = Tree.Entry.file(name, manifest: manifest, size: size, executable: mode & 0o111 != 0)
                    e.mode = mode; e.mtime = mtime
                    stack[top].entries.append(e)
                case .directory:
                    guard stack.count <= ObjectLimits.maxTreeDepth else {
                        throw ArkError(.unsupported, "\(root) nests directories more than \(ObjectLimits.maxTreeDepth) levels deep")
                    }
                    stack.append(try enter(stack[top].path + [0x2f] + name.bytes, isRoot: false))
                }
                continue
            }
            let done = stack.removeLast()
            entriesHeld -= done.children.count
            let tree = try Tree(entries: done.entries)
            let id = try session.put(.tree, tree.encoded())
            guard let parent = stack.indices.last else { return (id, tree.totalSize) }
            let (name, node) = stack[parent].children[stack[parent].next - 1]
            var e = Tree.Entry.directory(name, tree: id, size: tree.totalSize)
            if case .directory(let mode, let mtime) = node { e.mode = mode; e.mtime = mtime }
            stack[parent].entries.append(e)
        }
        preconditionFailure("the root frame returns")
    }

    /// Reads a directory the walk enters, with the stat cache rows of the files in it.
    private mutating func enter(_ path: [UInt8], isRoot: Bool) throws -> Frame {
        var frame = Frame(path: path, children: try scan(directory: path, isRoot: isRoot), cache: [:])
        let hasFiles = frame.children.contains { if case .file = $0.1 { true } else { false } }
        if hasFiles, hasCache, let text = String(validating: path, as: UTF8.self) {
            frame.cache = try session.repo.index.statCache(in: text)
        }
        for (name, child) in frame.children {
            guard case .file(let key, _, _) = child else { continue }
            progress.filesTotal += 1
            if Self.cacheHit(frame.cache, Self.text(path, name), key) == nil { progress.bytesTotal += UInt64(key.size) }
        }
        entriesHeld += frame.children.count
        peakEntriesHeld = max(peakEntriesHeld, entriesHeld)
        onProgress(progress)
        return frame
    }

    /// One directory's entries.
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
                let key = StatKey(
                    dev: Int64(st.st_dev), ino: Int64(st.st_ino), size: Int64(st.st_size),
                    mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                    ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
                children.append((name, .file(key: key, mode: mode, mtime: mtime)))
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
                children.append((name, .directory(mode: mode, mtime: mtime)))
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

    /// The path as a String when it is UTF-8 (the stat cache's key), else nil.
    private static func text(_ dir: [UInt8], _ name: FileName) -> String? {
        String(validating: dir + [0x2f] + name.bytes, as: UTF8.self)
    }

    /// The cached manifest of `path` if its stat data is unchanged. The cache is keyed by text
    /// paths, so a path that is not UTF-8 is never cached (two such paths could repair alike).
    private static func cacheHit(_ cache: [String: (StatKey, ObjectID)], _ text: String?, _ key: StatKey) -> ObjectID? {
        guard let text, let (cached, manifest) = cache[text], cached == key else { return nil }
        return manifest
    }

    static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try FileName.withCString(path, body)
    }

    /// The file's manifest and size, or nil if it cannot be opened (it is then in `skipped`).
    private mutating func store(file path: [UInt8], key: StatKey, cache: [String: (StatKey, ObjectID)]) throws -> (ObjectID, UInt64)? {
        let text = String(validating: path, as: UTF8.self)
        if let manifest = Self.cacheHit(cache, text, key) {
            progress.filesDone += 1; progress.filesReused += 1
            return (manifest, UInt64(key.size))
        }
        // O_NONBLOCK: a file replaced by a FIFO since the directory was read must not block
        // the commit in open(2); what was opened is checked to be a regular file.
        let fd = Snapshot.withCPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { skip(path, "cannot read: \(Errno.current)"); return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            skip(path, "not a regular file any more (replaced during the commit)")
            return nil
        }
        var p = progress
        let callback = onProgress
        let shown = text ?? EntryPath(bytes: path).description
        let (manifest, size) = try session.putFile(fd: fd, path: shown) { n in
            p.bytesDone += n; callback(p)
        }
        progress.bytesDone = p.bytesDone
        progress.filesDone += 1
        // Racy-clean rule: a file modified within 2 s of the snapshot may change again
        // without its stat data changing, so it is not cached.
        if Double(key.mtimeNs) / 1e9 < startTime - 2, UInt64(key.size) == size, let text {
            try session.rememberStat(path: text, key: key, manifest: manifest)
        }
        return (manifest, size)
    }
}
