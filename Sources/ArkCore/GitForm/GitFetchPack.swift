/// What a git fetch from ark sends, and the pack that carries it: the commits from the wanted
/// ones down to those the local git repository already has, and their trees and blobs that it
/// lacks, each in its git form (so git computes the same ids).
package final class GitFetchPack {
    package enum Item: Sendable {
        case commit(ObjectID)
        case tree(ObjectID)
        case blob(manifest: ObjectID)
        /// A symlink's target (ark keeps it inline, git as a blob).
        case inline([UInt8])
    }

    package let ids: GitObjectIDs
    package var repo: Repository { ids.repo }
    /// Git forms of the trees `plan` read, so `write` need not read them again; bounded by
    /// `formCacheLimit` bytes (trees past it are read again when written).
    private var treeForms: [ObjectID: [UInt8]] = [:]
    private var treeFormBytes = 0
    package var formCacheLimit = 64 << 20

    package init(ids: GitObjectIDs) { self.ids = ids }

    /// The objects to send for `wants` (ark commits). `hasCommit` answers whether the local
    /// git repository has a commit; `has` whether it has a tree or blob, asked only when some
    /// commit was there (a new clone has nothing, and each question is a round trip).
    package func plan(wants: [ObjectID], hasCommit: ([UInt8]) throws -> Bool, has: ([UInt8]) throws -> Bool) throws -> [Item] {
        var items: [Item] = []
        var seen = Set<ObjectID>()
        var stack = wants
        var newCommits: [ObjectID] = []
        var boundary = false
        while let c = stack.popLast() {
            guard seen.insert(c).inserted else { continue }
            if try hasCommit(try ids.commit(c)) { boundary = true; continue }
            newCommits.append(c)
            stack += try repo.commit(c).parents
        }
        var seenGit = Set<[UInt8]>()
        var trees: [ObjectID] = []
        for c in newCommits {
            items.append(.commit(c))
            trees.append(try repo.commit(c).tree)
        }
        while let t = trees.popLast() {
            guard seen.insert(t).inserted else { continue }
            let g = try ids.tree(t)
            guard seenGit.insert(g).inserted else { continue }
            if boundary, try has(g) { continue }
            items.append(.tree(t))
            let tree = try repo.tree(t)
            if treeFormBytes < formCacheLimit {
                let form = try tree.gitForm(id: ids.entry)
                treeFormBytes += form.count
                treeForms[t] = form
            }
            for e in tree.entries {
                switch e.kind {
                case .directory: trees.append(e.id!)
                case .file, .executable:
                    let b = try ids.blob(manifest: e.id!)
                    guard seenGit.insert(b).inserted else { continue }
                    if boundary, try has(b) { continue }
                    items.append(.blob(manifest: e.id!))
                case .symlink:
                    let bytes = Tree.symlinkBlob(e)
                    let b = GitSHA1.objectID(.blob, bytes)
                    guard seenGit.insert(b).inserted else { continue }
                    if boundary, try has(b) { continue }
                    items.append(.inline(bytes))
                case .submodule: continue
                }
            }
        }
        return items
    }

    /// Writes `items` as a pack to `sink`; `progress` is told how many objects are written.
    package func write(
        _ items: [Item], to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
        progress: (Int) -> Void = { _ in }
    ) throws {
        let pack = try GitPackWriter(count: items.count, sink: sink)
        for (i, item) in items.enumerated() {
            switch item {
            case .commit(let id):
                try pack.object(.commit, try ids.commitForm(try repo.commit(id)))
            case .tree(let id):
                if let form = treeForms.removeValue(forKey: id) {
                    try pack.object(.tree, form)
                } else {
                    try pack.object(.tree, try repo.tree(id).gitForm(id: ids.entry))
                }
            case .inline(let bytes):
                try pack.object(.blob, bytes)
            case .blob(let manifest):
                let reader = try FileReader(repo: repo, manifest: manifest)
                try pack.beginObject(.blob, size: reader.size)
                if reader.root.level == 0 && reader.root.count <= 1 {
                    // Most files are one chunk (or none): read here, without read-ahead threads.
                    if reader.root.count == 1 {
                        let e = reader.root.entry(at: 0)
                        let bytes = try repo.readChunk(e.id)
                        guard UInt64(bytes.count) == e.length else {
                            throw ArkError(
                                .corrupt, "manifest entry for chunk \(e.id) says \(e.length) bytes, the chunk has \(bytes.count)")
                        }
                        try pack.content(bytes)
                    }
                } else {
                    try reader.stream(parallelism: 4) { chunk in try chunk.withUnsafeBytes { try pack.content($0) } }
                }
                try pack.endObject()
            }
            if i % 1000 == 999 { progress(i + 1) }
        }
        try pack.finish()
        progress(items.count)
    }
}
