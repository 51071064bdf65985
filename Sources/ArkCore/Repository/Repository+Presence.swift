/// How much of a tree's content is stored here: its distinct chunks (each counted once, however
/// many files share it) and how many of them, and of their bytes, are present.
public struct TreePresence: Sendable, Equatable {
    public var chunks = 0
    public var bytes: UInt64 = 0
    public var presentChunks = 0
    public var presentBytes: UInt64 = 0

    public init() {}
}

extension Repository {
    /// Walks the trees and manifests under `root` (metadata, always stored) and sums its
    /// distinct chunks. `absent` is the set of chunks known but not stored
    /// (`index.absentIDs(kind: .chunk)`), read once by the caller and shared across trees.
    public func presence(ofTree root: ObjectID, absent: Set<ObjectID>) throws -> TreePresence {
        var out = TreePresence()
        var trees: [ObjectID] = [root]
        var seenTrees: Set<ObjectID> = [root]
        var manifests: [ObjectID] = []
        var seen = Set<ObjectID>() // manifests and chunks
        while let id = trees.popLast() {
            for e in try tree(id).entries {
                guard let child = e.id else { continue }
                switch e.kind {
                case .directory: if seenTrees.insert(child).inserted { trees.append(child) }
                case .file, .executable: if seen.insert(child).inserted { manifests.append(child) }
                default: break
                }
            }
        }
        while let id = manifests.popLast() {
            let m = try manifest(id)
            for i in 0..<m.count {
                let e = m.entry(at: i)
                guard seen.insert(e.id).inserted else { continue }
                if m.level > 0 { manifests.append(e.id); continue }
                out.chunks += 1
                out.bytes += e.length
                if !absent.contains(e.id) {
                    out.presentChunks += 1
                    out.presentBytes += e.length
                }
            }
        }
        return out
    }
}
