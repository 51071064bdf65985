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
    /// Walks the trees and manifests under `root` (metadata, always stored), level by level,
    /// and sums its distinct chunks. `absent` is the set of chunks known but not stored
    /// (`index.absentIDs(kind: .chunk)`), read once by the caller and shared across trees.
    package func presence(ofTree root: ObjectID, absent: Set<ObjectID>) throws -> TreePresence {
        var out = TreePresence()
        var seen: Set<ObjectID> = [root]  // trees, manifests and chunks: their ids never collide (personalization)
        var trees = [root]
        var manifests: [ObjectID] = []
        while !trees.isEmpty {
            var next: [ObjectID] = []
            try readVerified(trees, .tree) { _, bytes in
                for e in try Tree(decoding: bytes).entries {
                    guard let child = e.id, seen.insert(child).inserted else { continue }
                    switch e.kind {
                    case .directory: next.append(child)
                    case .file, .executable: manifests.append(child)
                    default: break
                    }
                }
            }
            trees = next
        }
        while !manifests.isEmpty {
            var next: [ObjectID] = []
            try readVerified(manifests, .manifest) { _, bytes in
                let m = try Manifest(decoding: bytes)
                for i in 0..<m.count {
                    let e = m.entry(at: i)
                    guard seen.insert(e.id).inserted else { continue }
                    if m.level > 0 { next.append(e.id); continue }
                    out.chunks += 1
                    out.bytes += e.length
                    if !absent.contains(e.id) {
                        out.presentChunks += 1
                        out.presentBytes += e.length
                    }
                }
            }
            manifests = next
        }
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
