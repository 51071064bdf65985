/// How much of a tree's content is stored here: its distinct chunks (each counted once, however
/// many files share it) and how many of them, and of their bytes, are present.
package struct TreePresence: Sendable, Equatable {
    package var chunks = 0
    package var bytes: UInt64 = 0
    package var presentChunks = 0
    package var presentBytes: UInt64 = 0

    package init() {}
}

extension Repository {
    /// Walks the trees and manifests under `root` (metadata, always stored) and sums its
    /// distinct chunks, asking the index which are absent a batch at a time. Memory stays
    /// bounded: seen ids go to an `ObjectIDSet`, and manifests are read in batches as the
    /// trees reveal them.
    package func presence(ofTree root: ObjectID) throws -> TreePresence {
        try presence(ofTree: root, absentAmong: { try index.absentSet($0) })
    }

    /// As `presence(ofTree:)`, with the absent chunks given as a set.
    package func presence(ofTree root: ObjectID, absent: Set<ObjectID>) throws -> TreePresence {
        try presence(ofTree: root, absentAmong: { Set($0.filter(absent.contains)) })
    }

    func presence(ofTree root: ObjectID, absentAmong: ([ObjectID]) throws -> Set<ObjectID>) throws -> TreePresence {
        var out = TreePresence()
        let seen = ObjectIDSet()  // trees, manifests and chunks: their ids never collide (personalization)
        try seen.insert(root)
        var trees = [root]
        var manifests: [ObjectID] = []
        func drainManifests(below limit: Int) throws {
            while manifests.count > limit {
                let batch = manifests
                manifests = []
                var chunks: [(ObjectID, UInt64)] = []
                try readVerified(batch, .manifest) { _, bytes in
                    let m = try Manifest(decoding: bytes)
                    for i in 0..<m.count {
                        let e = m.entry(at: i)
                        if m.level > 0 { manifests.append(e.id) } else { chunks.append((e.id, e.length)) }
                    }
                }
                let fresh = Set(try seen.insertNew(chunks.map(\.0)))
                let absent = try absentAmong(Array(fresh))
                var counted = Set<ObjectID>()
                for (id, length) in chunks where fresh.contains(id) && counted.insert(id).inserted {
                    out.chunks += 1
                    out.bytes += length
                    if !absent.contains(id) {
                        out.presentChunks += 1
                        out.presentBytes += length
                    }
                }
                manifests = try seen.insertNew(manifests)
            }
        }
        while !trees.isEmpty {
            var next: [ObjectID] = []
            // A level of trees a slice at a time, the manifests they name read between slices
            // (outside `readVerified`'s callback, whose errors all read as "does not decode").
            let level = trees
            for start in stride(from: 0, to: level.count, by: 256) {
                var children: [(ObjectID, Tree.Kind)] = []
                try readVerified(Array(level[start..<min(start + 256, level.count)]), .tree) { _, bytes in
                    for e in try Tree(decoding: bytes).entries {
                        if let child = e.id { children.append((child, e.kind)) }
                    }
                }
                var fresh = Set(try seen.insertNew(children.map(\.0)))
                for (child, kind) in children where fresh.remove(child) != nil {
                    switch kind {
                    case .directory: next.append(child)
                    case .file, .executable: manifests.append(child)
                    default: break
                    }
                }
                try drainManifests(below: 4096)
            }
            trees = next
        }
        try drainManifests(below: 0)
        return out
    }

    /// Reads and verifies many objects of one kind, looking their locations up in batches (one
    /// index transaction per batch instead of one per object).
    func readVerified(_ ids: [ObjectID], _ kind: ObjectKind, _ body: (ObjectID, [UInt8]) throws -> Void) throws {
        for start in stride(from: 0, to: ids.count, by: 4096) {
            let batch = ids[start..<min(start + 4096, ids.count)]
            let rows = try index.objects(batch)
            for id in batch {
                guard let o = rows[id] else { throw ArkError(.notFound, "\(kind) \(id) is not in the store") }
                guard o.kind == kind else { throw ArkError(.invalidArgument, "\(id) is a \(o.kind), not a \(kind)") }
                guard let loc = o.location else { throw ArkError(.missing, "\(kind) \(id) is not stored locally") }
                let bytes = try read(id, kind: kind, at: loc)
                do { try body(id, bytes) } catch let e as ArkError where e.code != .corrupt {
                    throw ArkError(.corrupt, "\(kind) \(id) does not decode: \(e.message)")
                }
            }
        }
    }
}
