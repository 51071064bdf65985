import Glibc
import Logging

/// The two keys of a store, loaded (or made, for a new store) while the setup lock is held:
///
/// - `node.key`, this node's identity. Made only for a store that holds nothing yet: once a
///   store has data, its heads and history belong to that key, so a missing key is an error
///   that asks for it back, never quietly replaced. Its endpoint id is recorded in the index
///   (`store_keys`) and checked on every open, so another node's key is refused too.
/// - `tags.key`, the block tag key (`BlockTagger`), a secret of the store's own so tags do not
///   depend on the node's identity. Tags are a cache: if the key is missing, a new one is made
///   and the tags made with the old one (its fingerprint is in the index) are dropped, so a
///   read never checks blocks against tags of another key.
enum StoreKeys {
    static func open(store: String, index: Index, logger: Logger) throws -> (NodeIdentity, BlockTagger) {
        let recorded: ObjectID? = try index.keyFingerprint(.node).map {
            guard $0.count == ObjectID.byteCount else {
                throw ArkError(.corrupt, "index \(index.path) records a damaged node id (\($0.count) bytes) in store_keys")
            }
            return ObjectID(bytes: $0)
        }
        let hasData = try recorded != nil || index.holdsData() || hasPacks(store + "/packs")
        let identity = try NodeIdentity.loadOrCreate(store: store, mayCreate: !hasData, expected: recorded)
        if recorded == nil { try index.recordKeyFingerprint(.node, identity.endpointID.bytes) }
        return (identity, try tagger(store: store, index: index, logger: logger))
    }

    private static func tagger(store: String, index: Index, logger: Logger) throws -> BlockTagger {
        let path = store + "/tags.key"
        func load() throws -> BlockTagger? {
            do {
                return try FileDescriptor.readStoreFile(path, what: "tag key", expectedCount: BlockTagger.keySize).map(
                    BlockTagger.init(key:))
            } catch let e as ArkError {
                throw ArkError(
                    e.code, e.message + "; if it is damaged, remove it and a new one is made (block tags are then recomputed)",
                    context: e.context)
            }
        }
        let tagger: BlockTagger
        if let existing = try load() {
            tagger = existing
        } else {
            let fresh = BlockTagger.random()
            if try FileDescriptor.createStoreFile(path, fresh.key, mode: 0o600, directory: store) {
                tagger = fresh
            } else if let theirs = try load() {
                tagger = theirs
            } else {
                throw ArkError(.io, "tag key \(path) could not be created: the name appeared and vanished again")
            }
        }
        let fingerprint = tagger.fingerprint
        if try index.keyFingerprint(.tags) != fingerprint {
            let dropped = try index.replaceTagKey(fingerprint)
            if dropped > 0 {
                logger.notice(
                    "tag key \(path) is new: dropped the block tags of \(dropped) objects made with the old one; they are re-tagged when next read whole"
                )
            }
        }
        return tagger
    }

    /// Whether the pack directory holds any pack file (an index lost beside its data).
    private static func hasPacks(_ directory: String) -> Bool {
        guard let dir = opendir(directory) else { return false }
        defer { closedir(dir) }
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            if name.hasSuffix(".pack") { return true }
        }
        return false
    }
}
