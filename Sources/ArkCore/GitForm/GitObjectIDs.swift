import Foundation

/// The git ids of a store's objects: a manifest's blob, a tree's git tree, a commit's git
/// commit (see `Commit.gitForm` and `Tree.gitForm`). Each is computed once, from the object
/// and its children's git ids, and kept in memory and in the index's `git_ids` table (`flush`),
/// so a later run reads a blob's id instead of hashing its content again.
package final class GitObjectIDs {
    package let repo: Repository
    private var cache: [ObjectID: [UInt8]] = [:]
    private var unsaved: [(ObjectID, [UInt8])] = []

    package init(repo: Repository) { self.repo = repo }

    /// Records a known id (from an import that checked it).
    package func remember(_ arkID: ObjectID, _ gitID: [UInt8]) {
        if cache[arkID] == nil { unsaved.append((arkID, gitID)) }
        cache[arkID] = gitID
        if !notStored.isEmpty { notStored.remove(arkID) }
    }

    /// Set once `preload` has read every stored id: an id not in `cache` is then not stored
    /// (or stored since by another process, which computing it again agrees with).
    private var preloaded = false
    /// Ids a batched lookup (`lookUpStored`) found not stored, so `known` does not ask again.
    private var notStored = Set<ObjectID>()

    /// The git id of `id` if computed before (in memory or in the index), without computing it.
    package func known(_ id: ObjectID) throws -> [UInt8]? {
        if let g = cache[id] { return g }
        if preloaded || notStored.contains(id) { return nil }
        guard let g = try repo.index.gitID(of: id) else { return nil }
        cache[id] = g
        return g
    }

    /// Reads every stored id into memory (up to `limit` of them), for a run that will ask for
    /// most of them (a clone).
    package func preload(limit: Int = 1 << 20) throws {
        guard let all = try repo.index.allGitIDs(limit: limit) else { return }
        cache.merge(all) { current, _ in current }
        preloaded = true
    }

    /// Looks up the stored ids of those of `arkIDs` not in memory in one read of the index, so the
    /// questions that follow are answered from memory.
    package func lookUpStored(_ arkIDs: [ObjectID]) throws {
        guard !preloaded else { return }
        let wanted = arkIDs.filter { cache[$0] == nil && !notStored.contains($0) }
        guard !wanted.isEmpty else { return }
        let found = try repo.index.gitIDs(of: wanted)
        for id in wanted {
            if let g = found[id] { cache[id] = g } else { notStored.insert(id) }
        }
    }

    /// Writes the ids computed since the last flush to the index.
    package func flush() throws {
        try repo.index.insertGitIDs(unsaved)
        unsaved.removeAll()
    }

    /// The blob id of a file's content: read and hashed (streamed) unless known.
    package func blob(manifest: ObjectID) throws -> [UInt8] {
        if let g = try known(manifest) { return g }
        let reader = try FileReader(repo: repo, manifest: manifest)
        var h = GitSHA1()
        h.update(GitSHA1.header(.blob, size: reader.size))
        try reader.stream(parallelism: 4) { h.update($0) }
        let g = h.finish()
        remember(manifest, g)
        return g
    }

    /// The git id of one tree entry's object.
    package func entry(_ e: Tree.Entry) throws -> [UInt8] {
        switch e.kind {
        case .file, .executable: return try blob(manifest: e.id!)
        case .directory: return try tree(e.id!)
        case .symlink: return GitSHA1.objectID(.blob, Tree.symlinkBlob(e))
        case .submodule:
            guard let t = e.targetString, let raw = HexCodec.decode(t), raw.count == 20 else {
                throw ArkError(.unsupported, "submodule '\(e.name)' links '\(e.targetString ?? "")', not a SHA-1 git commit")
            }
            return raw
        }
    }

    /// The git tree id of a tree, its subtrees' first (without recursion: trees nest up to
    /// `ObjectLimits.maxTreeDepth` levels, too deep for the stack).
    package func tree(_ id: ObjectID) throws -> [UInt8] {
        if let g = try known(id) { return g }
        var stack: [(id: ObjectID, tree: Tree?)] = [(id, nil)]
        while var top = stack.popLast() {
            if try known(top.id) != nil { continue }
            let t: Tree
            if let loaded = top.tree {
                t = loaded
            } else {
                t = try repo.tree(top.id)
                try lookUpStored(t.entries.compactMap(\.id))
            }
            var pending: [ObjectID] = []
            for e in t.entries where e.kind == .directory {
                if let sub = e.id, try known(sub) == nil { pending.append(sub) }
            }
            if !pending.isEmpty {
                top.tree = t
                stack.append(top)
                stack += pending.map { (id: $0, tree: nil) }
                continue
            }
            remember(top.id, GitSHA1.objectID(.tree, try t.gitForm(id: entry)))
        }
        guard let g = try known(id) else { throw ArkError(.corrupt, "git id of tree \(id) was not computed") }
        return g
    }

    /// The git commit id of a commit, computing its ancestors' first (without recursion: a
    /// history is as deep as it is long).
    package func commit(_ id: ObjectID) throws -> [UInt8] {
        if let g = try known(id) { return g }
        var stack = [id]
        while let top = stack.last {
            if try known(top) != nil { stack.removeLast(); continue }
            let c = try repo.commit(top)
            var parents: [[UInt8]] = []
            var missing = false
            for p in c.parents {
                if let g = try known(p) { parents.append(g) } else { stack.append(p); missing = true }
            }
            if missing { continue }
            stack.removeLast()
            let g = GitSHA1.objectID(.commit, c.gitForm(tree: try tree(c.tree), parents: parents))
            // An imported commit names the git commit it came from: its git form must be that one.
            if c.gitRaw != nil, let source = c.sourceID, source.utf8.count == 40, source != HexCodec.encode(g) {
                throw ArkError(
                    .corrupt,
                    "commit \(top): its git form hashes to \(HexCodec.encode(g)), not to git commit \(source) it was imported from")
            }
            remember(top, g)
        }
        return cache[id]!
    }

    /// The git form of a commit whose parents' and tree's ids are known or computable.
    package func commitForm(_ c: Commit) throws -> [UInt8] {
        c.gitForm(tree: try tree(c.tree), parents: try c.parents.map(commit))
    }
}
