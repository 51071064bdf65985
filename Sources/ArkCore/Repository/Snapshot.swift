import Foundation
import Glibc

/// Snapshots a directory into trees, manifests and chunks through a `WriteSession`.
/// Regular files, executables, symlinks and (empty) directories are kept; other file types
/// are skipped with a warning. Files whose stat data matches the stat cache are not read.
public struct Snapshot {
    public struct Progress: Sendable {
        public var bytesDone: UInt64 = 0
        public var bytesTotal: UInt64 = 0
        public var filesDone = 0
        public var filesTotal = 0
        public var filesReused = 0
    }

    /// What a scan found: directories in a flat list (a child directory is an index into it,
    /// always after its parent's), so neither the scan nor the store recurses.
    private enum Node {
        case file(path: String, key: StatKey, executable: Bool)
        case symlink(target: String)
        case directory(Int)
    }

    private struct Directory {
        var path: String
        var depth: Int
        var children: [(String, Node)] = []
    }

    public let session: WriteSession
    public let root: String
    public var warn: (String) -> Void = { _ in }
    public var onProgress: (Progress) -> Void = { _ in }
    private var progress = Progress()
    private var cache: [String: (StatKey, ObjectID)] = [:]
    private let startTime = Date().timeIntervalSince1970
    private var excluded: (dev: UInt64, ino: UInt64)?

    public init(session: WriteSession, root: String) {
        self.session = session
        self.root = root
    }

    /// Returns the root tree id and its total size.
    public mutating func run() throws -> (tree: ObjectID, size: UInt64) {
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
        var dirs = [Directory(path: root, depth: 0)]
        var next = 0
        while next < dirs.count {
            let (path, depth) = (dirs[next].path, dirs[next].depth)
            guard depth <= ObjectLimits.maxTreeDepth else {
                throw ArkError(.unsupported, "\(root) nests directories more than \(ObjectLimits.maxTreeDepth) levels deep")
            }
            var children: [(String, Node)] = []
            for (name, child) in try scan(directory: path) {
                if case .directory = child {
                    children.append((name, .directory(dirs.count)))
                    dirs.append(Directory(path: path + "/" + name, depth: depth + 1))
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
    private mutating func scan(directory path: String) throws -> [(String, Node)] {
        guard let dir = opendir(path) else { throw ArkError(.io, "cannot open directory \(path): \(Errno.current)") }
        defer { closedir(dir) }
        var children: [(String, Node)] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(validatingCString: $0) }
            }
            guard let name else { warn("skipping \(path)/<non-UTF-8 name>"); continue }
            if name == "." || name == ".." { continue }
            let full = path + "/" + name
            var st = stat()
            guard lstat(full, &st) == 0 else { warn("skipping \(full): \(Errno.current)"); continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                let key = StatKey(dev: Int64(st.st_dev), ino: Int64(st.st_ino), size: Int64(st.st_size),
                                  mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                                  ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
                children.append((name, .file(path: full, key: key, executable: st.st_mode & 0o111 != 0)))
                progress.filesTotal += 1
                if cache[full]?.0 != key { progress.bytesTotal += UInt64(st.st_size) }
            case S_IFLNK:
                var buf = [CChar](repeating: 0, count: 4097)
                let n = readlink(full, &buf, 4096)
                guard n > 0, let target = String(validating: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) else {
                    warn("skipping symlink \(full): unreadable or non-UTF-8 target"); continue
                }
                children.append((name, .symlink(target: target)))
            case S_IFDIR:
                if let ex = excluded, UInt64(st.st_dev) == ex.dev, UInt64(st.st_ino) == ex.ino {
                    warn("skipping \(full): it is the store itself"); continue
                }
                children.append((name, .directory(0)))
            default:
                warn("skipping \(full): not a regular file, symlink or directory")
            }
        }
        return children
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
                case .symlink(let target):
                    stack[top].entries.append(.symlink(name, target: target))
                case .file(let path, let key, let executable):
                    let (manifest, size) = try store(file: path, key: key)
                    stack[top].entries.append(.file(name, manifest: manifest, size: size, executable: executable))
                case .directory(let index):
                    stack.append(Frame(dir: index))
                }
                continue
            }
            let done = stack.removeLast()
            let tree = try Tree(entries: done.entries)
            let id = try session.put(.tree, tree.encoded())
            guard let parent = stack.indices.last else { return (id, tree.totalSize) }
            let name = dirs[stack[parent].dir].children[stack[parent].next - 1].0
            stack[parent].entries.append(.directory(name, tree: id, size: tree.totalSize))
        }
        preconditionFailure("the root frame returns")
    }

    private mutating func store(file path: String, key: StatKey) throws -> (ObjectID, UInt64) {
        if let (cached, manifest) = cache[path], cached == key {
            progress.filesDone += 1; progress.filesReused += 1
            return (manifest, UInt64(key.size))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArkError(.io, "cannot read \(path): \(Errno.current)") }
        defer { close(fd) }
        var p = progress
        let callback = onProgress
        let (manifest, size) = try session.putFile(fd: fd, path: path) { n in p.bytesDone += n; callback(p) }
        progress.bytesDone = p.bytesDone
        progress.filesDone += 1
        // Racy-clean rule: a file modified within 2 s of the snapshot may change again
        // without its stat data changing, so it is not cached.
        if Double(key.mtimeNs) / 1e9 < startTime - 2, UInt64(key.size) == size {
            session.rememberStat(path: path, key: key, manifest: manifest)
        }
        return (manifest, size)
    }
}
