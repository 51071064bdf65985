import ArkCore

/// The narrow read interface the filesystem needs from a store: verified objects and the
/// history index. `Repository` provides it; the sync layer will provide one that fetches
/// absent chunks from peers.
public protocol ObjectSource: Sendable {
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
    public func warmUp(readers: Int) {}

    public func manifestPrefix(_ id: ObjectID) throws -> ManifestPrefix? { nil }

    public func chunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>] { ids.map { id in Result { try chunk(id) } } }

    public func chunk(_ id: ObjectID, range: Range<Int>) throws -> [UInt8] {
        let bytes = try chunk(id)
        return Array(bytes[range.clamped(to: 0..<bytes.count)])
    }
}

/// The local store as an `ObjectSource`; `peerNames` come from ark.toml.
public struct LocalObjectSource: ObjectSource {
    public let repo: Repository
    public let peerNames: [ObjectID: String]

    public init(repo: Repository, peerNames: [ObjectID: String] = [:]) {
        self.repo = repo
        self.peerNames = peerNames
    }

    public func tree(_ id: ObjectID) throws -> Tree { try repo.tree(id) }
    public func manifest(_ id: ObjectID) throws -> Manifest { try repo.manifest(id) }
    public func manifestPrefix(_ id: ObjectID) throws -> ManifestPrefix? { try repo.manifestPrefix(id) }
    public func chunk(_ id: ObjectID) throws -> [UInt8] { try repo.readChunk(id) }
    public func chunk(_ id: ObjectID, range: Range<Int>) throws -> [UInt8] { try repo.readChunk(id, range: range) }
    public func chunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>] { repo.readChunks(ids) }
    public func isPresent(_ id: ObjectID) throws -> Bool { try repo.index.object(id)?.isPresent ?? false }
    public func commitSummary(_ id: ObjectID) throws -> CommitSummary? { try repo.index.commit(id) }
    public func heads(repo r: String?) throws -> [Head] { try repo.index.heads(repo: r) }
    public func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] { try repo.index.history(from: heads, limit: limit) }
    public func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID] { try repo.index.commits(withPrefix: prefix, limit: limit) }
    public func commits(changeID: String) throws -> [ObjectID] { try repo.index.commits(changeIDPrefix: changeID) }
    public var localNode: ObjectID { repo.identity.endpointID }
    public func peerName(_ node: ObjectID) -> String? { peerNames[node] }
    public func warmUp(readers: Int) { repo.warmUp(readers: readers) }
}
