import ArkCore
import Foundation
import Logging
import Synchronization

/// The read-only filesystem, independent of libfuse: lookup, getattr, readdir, readlink,
/// xattrs and reads over an `ObjectSource`. `FuseSession` binds it to the kernel.
package final class Filesystem: Sendable {
    package struct Options: Sendable {
        /// Bytes of verified chunks kept in memory.
        package var cacheSize: Int = ChunkCache.defaultCapacity
        /// Kernel cache lifetime of immutable content (commit trees) and of the browser's
        /// changing directories.
        package var immutableTimeout: Double = 86_400
        package var mutableTimeout: Double = 1
        package var uid: UInt32 = 0
        package var gid: UInt32 = 0
        /// Repos declared in the configuration: listed under `repos/` even before they have a head.
        package var declaredRepos: [String] = []
        /// Threads loading chunks (`loadPool`): each may wait on the disk, a peer or the
        /// bucket, so a store whose chunks come from far away wants more in flight.
        package var loadThreads = 4
        package init() {}
    }

    /// What is mounted at the root.
    package enum Root: Sendable {
        /// One commit's tree, with the history browser under a hidden `.ark/`.
        case commit(ObjectID)
        /// The history browser.
        case history
    }

    let source: ObjectSource
    let options: Options
    let inodes: InodeTable
    let cache: ChunkCache
    let mountTime = Int64(Date().timeIntervalSince1970)
    let logger = Logger(label: "ark.fs")
    let trees = Mutex(TreeCache())
    let treeLoads = SingleFlight<ObjectID, Tree>()
    static let maxTrees = 16_384
    /// And at most this many entries in them (~40 MB): 4,096 trees of a 1,000,000-file tree
    /// (194 entries each) held ~120 MB. This bound is the one that binds on large trees; the
    /// count only limits many tiny ones (a walk of 200,000 files in 5,238 directories keeps
    /// them all: 205,000 entries).
    static let maxTreeEntries = 262_144
    /// Chunk loads (`ChunkCache`): `Options.loadThreads` threads that may block on the disk,
    /// a peer or the bucket.
    let loadPool: BlockingPool
    /// Loads ahead of a walk through files: the next files' first bytes (`noteOpen`), at most
    /// 16 at a time. A pool of its own: these wait for manifests and first chunks the reads
    /// will want (from the disk or a peer), and must not hold up the reads.
    let aheadPool = BlockingPool(threadCount: 16, name: "ark-ahead")
    /// Trees loaded ahead of a directory walk (`prefetchSubtrees`), 4 at a time. A pull
    /// brings every tree, so these wait on the local disk (or the bucket's ranged reads), and
    /// more threads only contended for the tree cache's lock on two cores: a cold `find` of
    /// 200,000 files took 2.3-2.5 s with 16 of them, 1.8-2.0 s with 3 to 6.
    let treePool = BlockingPool(threadCount: 4, name: "ark-trees")
    /// Per directory inode: how far a walk through its files got (`noteOpen`).
    let walks = Mutex<[UInt64: WalkState]>([:])
    /// Trees to load ahead of a directory walk (`prefetchSubtrees`).
    let treesAhead = Mutex(TreePrefetchQueue())
    let manifestLoader: ManifestLoader
    /// Files whose first bytes were read ahead (`readFirstBytesAhead`), once per mount: after
    /// that the kernel's page cache usually holds them (`keep_cache`).
    let firstBytesRead = Mutex<Set<ObjectID>>([])

    /// The decoded trees kept, and how many entries they hold.
    struct TreeCache {
        var byID: [ObjectID: Tree] = [:]
        var entries = 0
    }
    static let hiddenBrowser = ".ark"

    package init(source: ObjectSource, root: Root, options: Options) throws {
        self.source = source
        self.options = options
        self.loadPool = BlockingPool(threadCount: max(1, options.loadThreads), name: "ark-load")
        self.cache = ChunkCache(source: source, capacity: options.cacheSize, pool: loadPool)
        self.manifestLoader = ManifestLoader(source: source)
        switch root {
        case .history:
            inodes = InodeTable(root: .virtual(.root))
        case .commit(let id):
            guard let c = try source.commitSummary(id) else { throw ArkError(.notFound, "commit \(id) is not in the index") }
            inodes = InodeTable(
                root: .entry(Node.Entry(commit: id, mtime: c.committerTime, kind: .directory, id: c.tree, size: 0, target: nil)))
            _ = try tree(c.tree)  // fail now, not on first access, if the root tree is unreadable
        }
        loadPool.start()
        aheadPool.start()
        treePool.start()
    }

    /// Stops the load threads once the queued loads ran (the mount calls it once it is
    /// unmounted), waiting at most `timeout` seconds for each pool when given (a load may
    /// wait for a peer); false if loads were still running then. Idempotent.
    @discardableResult
    package func shutdown(timeout: Double? = nil) -> Bool {
        let treesDone = treePool.shutdown(timeout: timeout)
        let aheadDone = aheadPool.shutdown(timeout: timeout)
        return loadPool.shutdown(timeout: timeout) && aheadDone && treesDone
    }

    deinit { shutdown() }

    /// Decoded trees, bounded (immutable, so never stale). Concurrent loads of one tree share
    /// one read.
    func tree(_ id: ObjectID) throws -> Tree {
        if let t = trees.withLock({ $0.byID[id] }) { return t }
        return try treeLoads.run(id) {
            if let t = trees.withLock({ $0.byID[id] }) { return t }
            let t = try source.tree(id)
            trees.withLock { cache in
                if cache.byID.count >= Self.maxTrees || cache.entries + t.entries.count > Self.maxTreeEntries {
                    cache.byID.removeAll(keepingCapacity: true)
                    cache.entries = 0
                }
                if cache.byID.updateValue(t, forKey: id) == nil { cache.entries += t.entries.count }
            }
            return t
        }
    }

    /// Verified manifests of files, bounded (see `ManifestLoader`).
    func manifest(_ id: ObjectID) throws -> Manifest { try manifestLoader.whole(id) }

    func entryNode(_ e: Tree.Entry, in parent: Node.Entry) -> Node {
        .entry(
            Node.Entry(
                commit: parent.commit, mtime: parent.mtime, kind: e.kind, id: e.id, size: e.size, target: e.target,
                mode: e.mode, storedMtime: e.mtime))
    }

    /// The root directory of a commit.
    func commitRoot(_ id: ObjectID) throws -> Node? {
        guard let c = try source.commitSummary(id) else { return nil }
        return .entry(Node.Entry(commit: id, mtime: c.committerTime, kind: .directory, id: c.tree, size: 0, target: nil))
    }

    // MARK: lookup and listing

    /// The child `name` of `parent`, or nil (ENOENT).
    func child(of parent: Node, named name: FileName, parentIno: UInt64) throws -> Node? {
        switch parent {
        case .entry(let e):
            if parentIno == InodeTable.rootIno, name.bytes.elementsEqual(Self.hiddenBrowser.utf8),
                case .entry = inodes.node(InodeTable.rootIno)
            {
                return .virtual(.root)
            }
            guard e.kind == .directory, let id = e.id, let found = try tree(id).entry(named: name) else { return nil }
            return entryNode(found, in: e)
        case .virtual(let v):
            return try browserChild(of: v, named: name)
        case .link, .text:
            return nil
        }
    }

    /// Every child of a directory, in a stable order.
    func children(of node: Node) throws -> [(FileName, Node)] {
        switch node {
        case .entry(let e):
            guard e.kind == .directory, let id = e.id else { return [] }
            return try tree(id).entries.map { ($0.name, entryNode($0, in: e)) }
        case .virtual(let v):
            return try browserChildren(of: v)
        case .link, .text:
            return []
        }
    }

    // MARK: attributes

    func attributes(of node: Node, ino: UInt64) -> stat {
        var st = stat()
        st.st_ino = UInt(ino)
        st.st_uid = options.uid
        st.st_gid = options.gid
        st.st_blksize = 1 << 20
        var mtime = mountTime
        var nanoseconds = 0
        switch node {
        case .entry(let e):
            mtime = e.storedMtime?.seconds ?? e.mtime
            nanoseconds = Int(e.storedMtime?.nanoseconds ?? 0)
            // Stored permission bits as stored (the mount is read-only: writes fail with EROFS);
            // entries without them are read-only 0444, 0555 for executables and directories.
            switch e.kind {
            case .file: st.st_mode = S_IFREG | mode_t(e.mode ?? 0o444); st.st_nlink = 1; st.st_size = Int(e.size)
            case .executable: st.st_mode = S_IFREG | mode_t(e.mode ?? 0o555); st.st_nlink = 1; st.st_size = Int(e.size)
            case .symlink: st.st_mode = S_IFLNK | 0o777; st.st_nlink = 1; st.st_size = Int(e.size)
            case .submodule: st.st_mode = S_IFDIR | 0o555; st.st_nlink = 2
            case .directory:
                // nlink 1, as btrfs reports for every directory: "unknown" to tools that count
                // subdirectories by it (find's leaf optimization turns itself off). 2 plus the
                // subdirectories would need each subdirectory's tree before its parent's
                // listing could be answered (a cold `find` waited on every one).
                st.st_mode = S_IFDIR | mode_t(e.mode ?? 0o555); st.st_nlink = 1
            }
        case .virtual:
            st.st_mode = S_IFDIR | 0o555; st.st_nlink = 2
        case .link(let target):
            st.st_mode = S_IFLNK | 0o777; st.st_nlink = 1; st.st_size = target.utf8.count
        case .text(let s):
            st.st_mode = S_IFREG | 0o444; st.st_nlink = 1; st.st_size = s.utf8.count
        }
        if st.st_mode & S_IFMT == S_IFDIR { st.st_size = 4096 }
        st.st_blocks = (st.st_size + 511) / 512
        st.st_mtim = timespec(tv_sec: Int(mtime), tv_nsec: nanoseconds)
        st.st_ctim = st.st_mtim
        st.st_atim = st.st_mtim
        return st
    }

    func timeout(for node: Node) -> Double { node.isImmutable ? options.immutableTimeout : options.mutableTimeout }

    // MARK: xattrs (not listed by listxattr)

    func xattr(_ name: String, of node: Node) throws -> String? {
        guard case .entry(let e) = node else { return nil }
        switch name {
        case "user.ark.id": return e.id?.hex
        case "user.ark.commit": return e.commit.hex
        case "user.ark.size": return String(e.kind == .directory ? try tree(e.id!).totalSize : e.size)
        case "user.ark.chunks", "user.ark.local":
            guard e.kind == .file || e.kind == .executable, let id = e.id else { return nil }
            var chunks = 0
            var local: UInt64 = 0
            try ManifestWalker(source: source, manifest: try manifest(id)).forEach { entry in
                chunks += 1
                if try source.isPresent(entry.id) { local += entry.length }
            }
            return String(name == "user.ark.chunks" ? UInt64(chunks) : local)
        default: return nil
        }
    }
}

/// Walks the chunk entries of a manifest through its levels (at most `Manifest.maxLevel`
/// deep: each child must be one level below its parent and as long as its entry says).
struct ManifestWalker {
    let source: ObjectSource
    let manifest: Manifest

    func forEach(_ body: (Manifest.Entry) throws -> Void) throws {
        func walk(_ m: Manifest) throws {
            for i in 0..<m.count {
                if m.level == 0 { try body(m.entry(at: i)); continue }
                let child = try source.manifest(m.id(at: i))
                guard child.level + 1 == m.level, child.totalSize == m.entry(at: i).length else {
                    throw ArkError(.corrupt, "manifest \(m.id(at: i)) does not match its parent's entry")
                }
                try walk(child)
            }
        }
        try walk(manifest)
    }
}
