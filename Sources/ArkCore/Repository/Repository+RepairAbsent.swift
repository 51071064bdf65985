/// The last step of `repairIndex`: chunks that files name but no pack holds.
extension Repository {
    /// Walks the trees of every commit in the graph, a level at a time with reads overlapping
    /// (`concurrently`), and records the chunks their manifests name that are not in the index
    /// as known but absent (a lazy repo's, fetched from peers on demand). Metadata that cannot
    /// be read is skipped: `verify` reports it.
    func restoreAbsentChunks() throws -> Int {
        var seen = Set<ObjectID>()
        var trees = try index.commitTrees().filter { seen.insert($0).inserted }
        var manifests: [ObjectID] = []
        while !trees.isEmpty {
            var next: [ObjectID] = []
            for case .success(let tree) in concurrently(trees, { try self.tree($0) }) {
                for e in tree.entries {
                    guard let id = e.id, seen.insert(id).inserted else { continue }
                    switch e.kind {
                    case .directory: next.append(id)
                    case .file, .executable: manifests.append(id)
                    default: break
                    }
                }
            }
            trees = next
        }
        var total = 0
        while !manifests.isEmpty {
            var next: [ObjectID] = []
            var chunks: [Manifest.Entry] = []
            for case .success(let man) in concurrently(manifests, { try self.manifest($0) }) {
                for i in 0..<man.count {
                    let e = man.entry(at: i)
                    guard seen.insert(e.id).inserted else { continue }
                    if man.level > 0 { next.append(e.id) } else { chunks.append(e) }
                }
            }
            for start in stride(from: 0, to: chunks.count, by: 4096) {
                let part = chunks[start..<min(start + 4096, chunks.count)]
                let known = try index.objects(part.map(\.id))
                let absent = part.filter { known[$0.id] == nil }.map { (id: $0.id, kind: ObjectKind.chunk, rawLength: Int($0.length)) }
                if !absent.isEmpty { try index.insertAbsent(absent) }
                total += absent.count
            }
            manifests = next
        }
        return total
    }
}
