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
