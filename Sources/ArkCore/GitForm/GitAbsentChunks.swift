/// The chunks a git fetch from a lazy repo needs that this node does not store, found before
/// anything is sent: git-remote-ark fetches them from peers first, instead of failing halfway
/// through computing git ids (`list`) or writing a pack (`fetch`). In a store that holds every
/// chunk it knows (`Index.absentIDs` is empty) no walk happens at all.
package struct GitAbsentChunks {
    package let repo: Repository
    /// Chunks the index knows of but this node does not store.
    package let absent: Set<ObjectID>
    private var seen = Set<ObjectID>()
    /// What the walks found, in the order found: (chunk id, length).
    package private(set) var chunks: [(id: ObjectID, length: UInt64)] = []

    package init(repo: Repository) throws {
        self.repo = repo
        absent = try repo.index.absentIDs(kind: .chunk)
    }

    /// Walks `commits` and their ancestors, not into those `stop` accepts; their trees, and
    /// the files in them, except the trees and manifests `skip` accepts; and collects the
    /// chunks of those files this node lacks. Each commit, tree and manifest is read once
    /// across walks.
    package mutating func walk(_ commits: [ObjectID], stop: (ObjectID) throws -> Bool, skip: (ObjectID) throws -> Bool) throws {
        guard !absent.isEmpty else { return }
        var seen = self.seen, found = self.chunks
        defer { (self.seen, self.chunks) = (seen, found) }
        var stack = commits
        var trees: [ObjectID] = []
        while let c = stack.popLast() {
            guard seen.insert(c).inserted else { continue }
            if try stop(c) { continue }
            let commit = try repo.commit(c)
            trees.append(commit.tree)
            stack += commit.parents
        }
        let absent = self.absent
        while let t = trees.popLast() {
            guard seen.insert(t).inserted else { continue }
            if try skip(t) { continue }
            for e in try repo.tree(t).entries {
                guard let id = e.id else { continue }
                switch e.kind {
                case .directory: trees.append(id)
                case .file, .executable:
                    guard seen.insert(id).inserted, try !skip(id) else { continue }
                    try FileReader(repo: repo, manifest: id).forEachChunkEntry { c, _ in
                        if absent.contains(c.id), seen.insert(c.id).inserted { found.append((c.id, c.length)) }
                    }
                case .symlink, .submodule: continue
                }
            }
        }
    }
}
