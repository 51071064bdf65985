/// What a git fetch from ark sends, and the pack that carries it: the commits from the wanted
/// ones down to those the local git repository already has, and their trees and blobs that it
/// lacks, each in its git form (so git computes the same ids), most trees and blobs as deltas
/// against their previous version in the same pack (`GitDeflateAhead`).
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
    /// Git forms of the commits `plan` read, and the trees and blobs it chose handed to `ahead`
    /// to be deflated while it walks on, so `write` need not read and encode them again;
    /// bounded by `formCacheLimit` bytes of git forms and file sizes (objects past it are read
    /// again when written). 256 MiB holds a history like the benchmark's 5,000 commits (97 MB
    /// of git trees, 138 MB of blobs) whole.
    private var forms: [ObjectID: [UInt8]] = [:]
    private var formBytes = 0
    package var formCacheLimit = 256 << 20
    /// Whether trees and blobs may be sent as deltas (`ARK_GIT_DELTAS=0` in git-remote-ark's
    /// environment turns them off, to compare).
    package var deltas = true
    private let ahead: GitDeflateAhead

    package init(ids: GitObjectIDs) {
        self.ids = ids
        ahead = GitDeflateAhead(repo: ids.repo)
    }

    deinit { ahead.finish() }

    private func keep(_ id: ObjectID, _ form: @autoclosure () throws -> [UInt8]) rethrows {
        guard formBytes < formCacheLimit else { return }
        let f = try form()
        formBytes += f.count
        forms[id] = f
    }

    /// A tree from the store, the stored git ids of its entries looked up in one index read.
    private func readTree(_ id: ObjectID) throws -> Tree {
        let tree = try repo.tree(id)
        try ids.lookUpStored(tree.entries.compactMap(\.id))
        return tree
    }

    /// The objects to send for `wants` (ark commits). `hasCommit` answers whether the local
    /// git repository has a commit; `has` whether it has a tree or blob, asked only when some
    /// commit was there (a new clone has nothing, and each question is a round trip).
    /// Each commit and tree is read once: commit forms are kept for `write`, and trees and
    /// blobs handed to `ahead` to be deflated while the walk goes on.
    package func plan(wants: [ObjectID], hasCommit: ([UInt8]) throws -> Bool, has: ([UInt8]) throws -> Bool) throws -> [Item] {
        var items: [Item] = []
        var seen = Set<ObjectID>()
        var stack = wants
        var trees: [ObjectID] = []
        var boundary = false
        while let c = stack.popLast() {
            guard seen.insert(c).inserted else { continue }
            if try hasCommit(try ids.commit(c)) { boundary = true; continue }
            let commit = try repo.commit(c)
            items.append(.commit(c))
            try keep(c, try ids.commitForm(commit))
            trees.append(commit.tree)
            stack += commit.parents
        }
        // Root trees are popped oldest first, so a tree's delta base (its older version) was
        // usually read just before it.
        var seenGit = Set<[UInt8]>()
        var treeForms = GitTreeForms()
        while let t = trees.popLast() {
            guard seen.insert(t).inserted else { continue }
            // A known id is checked before the tree is read: a fetch skips what git has unread.
            var tree: Tree?
            var form: [UInt8]?
            let g: [UInt8]
            if let known = try ids.known(t) {
                g = known
            } else {
                let read = try readTree(t)
                let f = try read.gitForm(id: ids.entry)
                g = GitSHA1.objectID(.tree, f)
                ids.remember(t, g)
                (tree, form) = (read, f)
            }
            guard seenGit.insert(g).inserted else { continue }
            if boundary, try has(g) { continue }
            items.append(.tree(t))
            let read = try tree ?? readTree(t)
            let shape = Self.shape(read)
            // Only trees walked below are kept as previous versions (their entries are in `seen`).
            var previous: [Tree.Entry]?
            if formBytes < formCacheLimit {
                let f: [UInt8]
                if let form { f = form } else { (f, previous) = try treeForms.form(read, shape: shape, id: ids.entry) }
                formBytes += f.count
                ahead.tree(t, form: f, git: g, key: deltas ? shape : nil)
            }
            for (i, e) in read.entries.enumerated() {
                // An entry as it was in the previous version of this directory was walked then.
                if let previous, e.id != nil, previous[i].id == e.id { continue }
                switch e.kind {
                case .directory:
                    if !seen.contains(e.id!) { trees.append(e.id!) }
                case .file, .executable:
                    // Several entries (in this tree or others) often name one manifest.
                    guard seen.insert(e.id!).inserted else { continue }
                    let b = try ids.blob(manifest: e.id!)
                    guard seenGit.insert(b).inserted else { continue }
                    if boundary, try has(b) { continue }
                    items.append(.blob(manifest: e.id!))
                    if formBytes < formCacheLimit {
                        formBytes += Int(clamping: e.size)
                        var path = Hasher()
                        path.combine(shape)
                        path.combine(e.name)
                        ahead.blob(manifest: e.id!, git: b, key: deltas ? path.finalize() : nil)
                    }
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

    /// A tree's path key for deltas and form reuse: its entry names (a file's key adds its name).
    package static func shape(_ tree: Tree) -> Int {
        var names = Hasher()
        names.combine(tree.entries.count)
        for e in tree.entries { names.combine(e.name) }
        return names.finalize()
    }

    /// Writes `items` as a pack to `sink`; `progress` is told how many objects are written.
    package func write(
        _ items: [Item], to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
        progress: (Int) -> Void = { _ in }
    ) throws {
        let pack = try GitPackWriter(count: items.count, sink: sink)
        var blobs = BlobReads(repo: repo, items: items, ahead: ahead)
        defer {
            blobs.finish()
            ahead.finish()
        }
        for (i, item) in items.enumerated() {
            switch item {
            case .commit(let id):
                if let form = forms.removeValue(forKey: id) {
                    try pack.object(.commit, form)
                } else {
                    try pack.object(.commit, try ids.commitForm(try repo.commit(id)))
                }
            case .tree(let id):
                if let f = ahead.take(id), let r = try f.wait() {
                    try write(r, .tree, to: pack)
                } else {
                    try pack.object(.tree, try repo.tree(id).gitForm(id: ids.entry))
                }
            case .inline(let bytes):
                try pack.object(.blob, bytes)
            case .blob(let manifest):
                if let f = ahead.take(manifest), let r = try f.wait() {
                    // A file of at most one chunk (most are), deflated during the walk.
                    try write(r, .blob, to: pack)
                } else if !ahead.wasHanded(manifest), let bytes = try blobs.next().wait() {
                    // Past the bound: read ahead here.
                    try pack.object(.blob, bytes)
                } else {
                    let reader = try FileReader(repo: repo, manifest: manifest)
                    try pack.beginObject(.blob, size: reader.size)
                    try reader.stream(parallelism: 4) { chunk in try chunk.withUnsafeBytes { try pack.content($0) } }
                    try pack.endObject()
                }
            }
            if i % 1000 == 999 { progress(i + 1) }
        }
        try pack.finish()
        progress(items.count)
    }

    private func write(_ r: GitDeflateAhead.Object, _ type: GitObjectType, to pack: GitPackWriter) throws {
        if let base = r.deltaBase {
            try pack.deflatedDelta(base: base, size: r.size, r.deflated)
        } else {
            try pack.deflatedObject(type, size: r.size, r.deflated)
        }
    }
}
