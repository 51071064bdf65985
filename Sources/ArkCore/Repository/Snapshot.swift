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

    enum Node {
        case file(key: StatKey, mode: UInt16, mtime: Tree.Timestamp)
        case symlink(target: [UInt8], mtime: Tree.Timestamp)
        case directory(mode: UInt16, mtime: Tree.Timestamp)
    }

    /// A directory on the walk's current path: its entries as read, the tree entries stored
    /// so far, and the manifests of its unchanged files (by child index, `Listing.hits`).
    struct Frame {
        var path: [UInt8]
        var children: [(FileName, Node)]
        var hits: [ObjectID?]
        var next = 0
        var entries: [Tree.Entry] = []
        /// Files submitted to the reader threads, by child index (`takeAhead`).
        var ahead: [Int: (PreparedGroup, Int)] = [:]
        var aheadBytes = 0
        /// Subdirectories submitted to the listing threads (`Lookahead`), by child index.
        var directoriesAhead: [Int: DirectoryFuture] = [:]
        var directoriesScanned = 0
        /// Children before this index were considered for prefetching.
        var scanned = 0
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
    var excluded: (dev: UInt64, ino: UInt64)?
    /// False when no file under `root` is in the stat cache (a first commit): no directory asks.
    var hasCache = true
    /// Threads that read, chunk, hash and compress small files ahead of the walk.
    var readers: BlockingPool?
    /// Threads that list directories ahead of the walk.
    var lookahead: Lookahead?
    /// After `run`: directories listed ahead of the walk, and listings of those neither taken
    /// by the walk nor discarded (none once the walk is done).
    private(set) var listingsAhead = (submitted: 0, outstanding: 0)
    /// Entries of directories listed ahead of the walk, at most `entriesAheadLimit` (tests set
    /// a smaller one).
    var listedAhead = ListedAhead(limit: Snapshot.entriesAheadLimit)
    var preparer: FilePreparer?
    /// Bytes of files submitted to the readers and not yet stored, over all frames.
    var bytesAhead = 0

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
        let pool = BlockingPool(threadCount: Self.readerThreads, name: "ark.commit-read")
        pool.start()
        readers = pool
        let listers = BlockingPool(threadCount: Lookahead.threads, name: "ark.commit-list")
        listers.start()
        lookahead = Lookahead(pool: listers, listed: listedAhead, excluded: excluded, index: hasCache ? session.repo.index : nil)
        preparer = session.preparer
        defer {
            _ = pool.shutdown(); readers = nil
            _ = listers.shutdown()
            listingsAhead = lookahead?.counts ?? (0, 0)
            lookahead = nil
        }
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
                    let ahead = takeAhead(&stack[top])
                    let hit = stack[top].hits[stack[top].next - 1]
                    guard let (manifest, size) = try store(file: path, key: key, hit: hit, ahead: ahead) else { continue }
                    var e = Tree.Entry.file(name, manifest: manifest, size: size, executable: mode & 0o111 != 0)
                    e.mode = mode; e.mtime = mtime
                    stack[top].entries.append(e)
                case .directory:
                    guard stack.count <= ObjectLimits.maxTreeDepth else {
                        throw ArkError(.unsupported, "\(root) nests directories more than \(ObjectLimits.maxTreeDepth) levels deep")
                    }
                    let ahead = takeDirectoryAhead(&stack[top])
                    stack.append(try enter(stack[top].path + [0x2f] + name.bytes, isRoot: false, ahead: ahead))
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

    /// Reads a directory the walk enters, with the stat cache rows of the files in it (or
    /// takes what a listing thread listed ahead, `ahead`).
    private mutating func enter(_ path: [UInt8], isRoot: Bool, ahead: DirectoryFuture? = nil) throws -> Frame {
        let listing =
            try ahead?.wait() ?? Self.list(path, excluded: excluded, index: hasCache ? session.repo.index : nil, lookahead: lookahead)
        if let err = listing.openError {
            guard !isRoot else { throw ArkError(.io, "cannot open directory \(EntryPath(bytes: path)): \(err)") }
            skip(path, "cannot open directory: \(err)")
        }
        for w in listing.warnings { warn(w) }
        for (p, reason) in listing.skipped { skip(p, reason) }
        if listing.staleCache {
            var files = Set<[UInt8]>()
            for (name, node) in listing.children { if case .file = node { files.insert(name.bytes) } }
            try session.pruneStat(directory: path, keep: files)
        }
        var frame = Frame(path: path, children: listing.children, hits: listing.hits)
        frame.directoriesAhead = listing.ahead
        frame.directoriesScanned = listing.aheadScanned
        for (i, (_, child)) in frame.children.enumerated() {
            guard case .file(let key, _, _) = child else { continue }
            progress.filesTotal += 1
            if frame.hits[i] == nil { progress.bytesTotal += UInt64(key.size) }
        }
        entriesHeld += frame.children.count
        peakEntriesHeld = max(peakEntriesHeld, entriesHeld + listedAhead.value)
        onProgress(progress)
        return frame
    }

    private mutating func skip(_ full: [UInt8], _ reason: String) {
        skipped.append(Skipped(path: EntryPath(bytes: full), reason: reason))
    }

    static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try FileName.withCString(path, body)
    }

    /// The file's manifest and size, or nil if it cannot be opened (it is then in `skipped`).
    /// `hit`: the manifest of its stat cache row, if that row's stat data is `key`. `ahead`:
    /// the file was submitted to the reader threads (`prefetch`).
    private mutating func store(
        file path: [UInt8], key: StatKey, hit: ObjectID?, ahead: (PreparedGroup, Int)?
    ) throws -> (ObjectID, UInt64)? {
        if let manifest = hit {
            progress.filesDone += 1; progress.filesReused += 1
            return (manifest, UInt64(key.size))
        }
        let text = String(validating: path, as: UTF8.self)
        if let (group, i) = ahead {
            switch group.wait()[i] {
            case .ready(let p):
                let (manifest, size) = try session.putPrepared(p)
                progress.bytesDone += size
                progress.filesDone += 1
                onProgress(progress)
                try remember(path, key: key, manifest: manifest, size: size)
                return (manifest, size)
            case .skipped(let reason):
                skip(path, reason)
                return nil
            case .failed(let error):
                throw error
            case .fallback:
                break
            }
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
        try remember(path, key: key, manifest: manifest, size: size)
        return (manifest, size)
    }

    private func remember(_ path: [UInt8], key: StatKey, manifest: ObjectID, size: UInt64) throws {
        // Racy-clean rule: a file modified within 2 s of the snapshot may change again
        // without its stat data changing, so it is not cached.
        if Double(key.mtimeNs) / 1e9 < startTime - 2, UInt64(key.size) == size {
            try session.rememberStat(path: path, key: key, manifest: manifest)
        }
    }
}
