import ArkCore

/// The narrow read interface the filesystem needs from a store: verified objects and the
/// history index. `Repository` provides it; the sync layer will provide one that fetches
/// absent chunks from peers.
package protocol ObjectSource: Sendable {
    func tree(_ id: ObjectID) throws -> Tree
    func manifest(_ id: ObjectID) throws -> Manifest
    /// The leading records of a large manifest, verified without reading the rest (block
    /// tags); nil when the source cannot do that for `id`.
    func manifestPrefix(_ id: ObjectID) throws -> ManifestPrefix?
    /// Verified chunk bytes.
    func chunk(_ id: ObjectID) throws -> [UInt8]
    /// Verified bytes of `range` of a chunk; a source that can check part of a chunk (block
    /// tags) reads only that part.
    func chunk(_ id: ObjectID, range: Range<Int>) throws -> [UInt8]
    /// Verified bytes of several chunks at once (read-ahead); a source may read neighbours
    /// in one I/O.
    func chunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>]
    func isPresent(_ id: ObjectID) throws -> Bool
    func commitSummary(_ id: ObjectID) throws -> CommitSummary?
    func heads(repo: String?) throws -> [Head]
    func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary]
    func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID]
    func commits(changeID: String) throws -> [ObjectID]
    var localNode: ObjectID { get }
    /// A display name for a peer node (from configuration), if any.
    func peerName(_ node: ObjectID) -> String?
    /// Prepares for the first reads (opens index connections); called once when mounting.
    func warmUp(readers: Int)
}

extension ObjectSource {
    package func warmUp(readers: Int) {}

    package func manifestPrefix(_ id: ObjectID) throws -> ManifestPrefix? { nil }

    package func chunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>] { ids.map { id in Result { try chunk(id) } } }

    package func chunk(_ id: ObjectID, range: Range<Int>) throws -> [UInt8] {
        let bytes = try chunk(id)
        return Array(bytes[range.clamped(to: 0..<bytes.count)])
    }
}

/// The local store as an `ObjectSource`; `peerNames` come from ark.toml.
package struct LocalObjectSource: ObjectSource {
    package let repo: Repository
    package let peerNames: [ObjectID: String]

    package init(repo: Repository, peerNames: [ObjectID: String] = [:]) {
        self.repo = repo
        self.peerNames = peerNames
    }

    package func tree(_ id: ObjectID) throws -> Tree { try repo.tree(id) }
    package func manifest(_ id: ObjectID) throws -> Manifest { try repo.manifest(id) }
    package func manifestPrefix(_ id: ObjectID) throws -> ManifestPrefix? { try repo.manifestPrefix(id) }
    package func chunk(_ id: ObjectID) throws -> [UInt8] { try repo.readChunk(id) }
    package func chunk(_ id: ObjectID, range: Range<Int>) throws -> [UInt8] { try repo.readChunk(id, range: range) }
    package func chunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>] { repo.readChunks(ids) }
    package func isPresent(_ id: ObjectID) throws -> Bool { try repo.index.object(id)?.isPresent ?? false }
    package func commitSummary(_ id: ObjectID) throws -> CommitSummary? { try repo.index.commit(id) }
    package func heads(repo r: String?) throws -> [Head] { try repo.index.heads(repo: r) }
    package func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] {
        try repo.index.history(from: heads, limit: limit)
    }
    package func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID] {
        try repo.index.commits(withPrefix: prefix, limit: limit)
    }
    package func commits(changeID: String) throws -> [ObjectID] { try repo.index.commits(changeIDPrefix: changeID) }
    package var localNode: ObjectID { repo.identity.endpointID }
    package func peerName(_ node: ObjectID) -> String? { peerNames[node] }
    package func warmUp(readers: Int) { repo.warmUp(readers: readers) }
}
