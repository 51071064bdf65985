import ArkCore
import Synchronization

/// Where a walk through one directory's files is: the position (in the tree's name order) of
/// the last file opened, and how far the files after it were read ahead.
struct WalkState: Sendable {
    var last: Int?
    var aheadTo = 0
}

extension Filesystem {
    /// Files read ahead of a walk, beyond the one being opened.
    static let walkAhead = 32

    /// Called when a file is opened. tar, cp -r, rsync and file managers open a directory's
    /// files in name order, which is the tree's order; each file costs a manifest read and a
    /// chunk read, one after the other, cold. Once two opens in a directory go forward (at
    /// most 4 entries apart), the next `walkAhead` files' first bytes are loaded in parallel
    /// (`readFirstBytesAhead`: manifest, and a small first chunk whole), in batches of at
    /// least half the window. A lone open, or a reader jumping around, reads nothing extra.
    func noteOpen(ino: UInt64) {
        guard let (parent, name) = inodes.parentAndName(of: ino), case .entry(let dir)? = inodes.node(parent),
            dir.kind == .directory, let treeID = dir.id, let tree = try? tree(treeID),
            let i = tree.index(named: name)
        else { return }
        let ahead: Range<Int>? = walks.withLock { w in
            if w.count >= 1024 && w[parent] == nil { w.removeAll(keepingCapacity: true) }
            var s = w[parent] ?? WalkState()
            defer { w[parent] = s }
            let forward = s.last.map { i > $0 && i - $0 <= 4 } ?? false
            s.last = i
            guard forward else { return nil }
            let to = min(tree.entries.count, i + 1 + Self.walkAhead)
            let from = max(i + 1, s.aheadTo)
            guard from < to, to == tree.entries.count || to - from >= Self.walkAhead / 2 else { return nil }
            s.aheadTo = to
            return from..<to
        }
        guard let ahead else { return }
        for e in tree.entries[ahead] where e.kind == .file || e.kind == .executable {
            guard case .entry(let file) = entryNode(e, in: dir) else { continue }
            aheadPool.submit { [self] in readFirstBytesAhead(file) }
        }
    }
}

/// Trees waiting to be loaded ahead of a directory walk, most needed first: the
/// subdirectories of the directory listed last (`urgent`: a depth-first walk lists them next,
/// before the siblings of directories listed earlier), then those of earlier listings, each
/// listing's in order; then their subdirectories (`background`: where the walk goes after
/// that), in the order queued.
struct TreePrefetchQueue {
    /// One batch per listing, the latest on top; `head` is the next to hand out of each.
    private var urgent: [(ids: [ObjectID], head: Int)] = []
    private var background: [ObjectID] = []
    private var backgroundHead = 0

    var backgroundCount: Int { background.count - backgroundHead }

    mutating func add(_ ids: some Sequence<ObjectID>, urgent isUrgent: Bool) {
        if isUrgent {
            let batch = Array(ids)
            if !batch.isEmpty { urgent.append((batch, 0)) }
        } else {
            background.append(contentsOf: ids)
        }
    }

    mutating func pop() -> (id: ObjectID, urgent: Bool)? {
        if let top = urgent.indices.last {
            let id = urgent[top].ids[urgent[top].head]
            urgent[top].head += 1
            if urgent[top].head == urgent[top].ids.count { urgent.removeLast() }
            return (id, true)
        }
        if backgroundHead < background.count {
            defer {
                backgroundHead += 1
                if backgroundHead == background.count {
                    background.removeAll(keepingCapacity: true)
                    backgroundHead = 0
                } else if backgroundHead >= 1024 && backgroundHead * 2 >= background.count {
                    background.removeFirst(backgroundHead)
                    backgroundHead = 0
                }
            }
            return (background[backgroundHead], false)
        }
        return nil
    }
}

extension Filesystem {
    /// Subdirectories queued for `background` loading at most (beyond that a walk's own
    /// listings queue them, as urgent, when it gets there).
    static let maxBackgroundTrees = 2048

    /// Starts loading the trees of a listed directory's subdirectories (up to 256 not cached
    /// yet), and once each is loaded, its own subdirectories', on the assumption that a walk
    /// (`find`, `du`, `tar`, a file manager) goes into them next: listing each needs its
    /// tree, and one after another, cold, each costs an index lookup and a read. The listed
    /// directory's subdirectories go before anything queued earlier (`TreePrefetchQueue`): a
    /// walk that reaches a subdirectory whose load has not started reads it itself, one cold
    /// read at a time. Loads run on `treePool` (4 at a time); one already running is shared
    /// (a listing that needs a tree first waits for it instead of reading it again). Deeper
    /// trees are loaded only while the tree cache is less than half full, so reading ahead
    /// does not evict what the walk is reading.
    func prefetchSubtrees(of node: Node) {
        guard case .entry(let e) = node, e.kind == .directory, let id = e.id,
            let tree = trees.withLock({ $0.byID[id] })
        else { return }
        queueSubtrees(of: tree, urgent: true)
    }

    private func queueSubtrees(of tree: Tree, urgent: Bool) {
        let ids = trees.withLock { cached -> [ObjectID] in
            if !urgent && cached.entries >= Self.maxTreeEntries / 2 { return [] }
            var out: [ObjectID] = []
            for e in tree.entries where e.kind == .directory {
                guard let id = e.id, cached.byID[id] == nil else { continue }
                out.append(id)
                if out.count == 256 { break }
            }
            return out
        }
        guard !ids.isEmpty else { return }
        let queued = treesAhead.withLock { q -> Int in
            let n = urgent ? ids.count : min(ids.count, max(0, Self.maxBackgroundTrees - q.backgroundCount))
            q.add(ids.prefix(n), urgent: urgent)
            return n
        }
        // One job per queued tree; each loads whichever tree is most needed when it runs.
        for _ in 0..<queued { treePool.submit { [self] in loadNextTreeAhead() } }
    }

    private func loadNextTreeAhead() {
        guard let (id, urgent) = treesAhead.withLock({ $0.pop() }) else { return }
        if !urgent && (treeLoads.isRunning(id) || trees.withLock({ $0.byID[id] != nil })) { return }
        guard let t = try? tree(id) else { return }
        if urgent { queueSubtrees(of: t, urgent: false) }
    }
}
