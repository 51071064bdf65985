import Synchronization

/// How deep trees nest. A tree's height is the number of directory levels below it (0 for a
/// tree without subdirectories); commit, import and pulls refuse a root tree higher than
/// `ObjectLimits.maxTreeDepth`. Every walk over trees is iterative anyway, so a deeper tree
/// that got in some other way is slow to walk, never a crash.
extension Repository {
    /// Height of tree `root`, reading its subtrees from the store (see `TreeHeights.height`).
    package func treeHeight(_ root: ObjectID, limit: Int = ObjectLimits.maxTreeDepth) throws -> Int {
        try TreeHeights.height(of: root, limit: limit) { id in try treeSubdirectories(id) }
    }

    /// Ids of the directories in tree `id`.
    package func treeSubdirectories(_ id: ObjectID) throws -> [ObjectID] {
        try tree(id).entries.compactMap { $0.kind == .directory ? $0.id : nil }
    }
}

/// Known tree heights, bounded: cleared when full.
package final class TreeHeights: Sendable {
    static let shared = TreeHeights()
    static let capacity = 1 << 20
    private let heights = Mutex<[ObjectID: Int]>([:])

    /// Height of tree `root` given each tree's subdirectories, found with an explicit stack
    /// (post-order). Heights are cached process-wide by tree id (trees never change); the walk
    /// stops with an error as soon as a subtree is higher than `limit`.
    package static func height(
        of root: ObjectID, limit: Int = ObjectLimits.maxTreeDepth,
        subdirectories: (ObjectID) throws -> [ObjectID]
    ) throws -> Int {
        func tooDeep() -> ArkError { ArkError(.unsupported, "tree \(root) nests directories more than \(limit) levels deep") }
        if let h = shared.get(root) {
            guard h <= limit else { throw tooDeep() }
            return h
        }
        struct Frame { var id: ObjectID; var dirs: [ObjectID]; var next = 0; var height = 0 }
        var stack = [Frame(id: root, dirs: try subdirectories(root))]
        var height = 0
        while let top = stack.indices.last {
            if stack[top].next < stack[top].dirs.count {
                let child = stack[top].dirs[stack[top].next]
                stack[top].next += 1
                if let h = shared.get(child) {
                    stack[top].height = max(stack[top].height, h + 1)
                    guard stack[top].height + top <= limit else { throw tooDeep() }
                } else {
                    guard stack.count <= limit else { throw tooDeep() }
                    stack.append(Frame(id: child, dirs: try subdirectories(child)))
                }
                continue
            }
            let done = stack.removeLast()
            shared.put(done.id, done.height)
            height = done.height
            if let parent = stack.indices.last { stack[parent].height = max(stack[parent].height, done.height + 1) }
        }
        return height
    }

    func get(_ id: ObjectID) -> Int? { heights.withLock { $0[id] } }

    func put(_ id: ObjectID, _ height: Int) {
        heights.withLock { h in
            if h.count >= Self.capacity { h.removeAll(keepingCapacity: true) }
            h[id] = height
        }
    }
}
