import CArkSipHash
import CSodium

/// Local integrity tags of stored chunks, so a read can verify a 16 KiB block of a chunk
/// without reading and hashing the whole chunk (random reads, first bytes, cheaper streaming).
///
/// A chunk's id is the BLAKE2b-256 of its bytes; a block of it cannot be checked against that
/// id alone. So when this node stores a chunk, right after hashing the same bytes to its id, it
/// also tags each block:
///
///     K     = BLAKE2b-256(key: ed25519 seed of this node, "ark.block-tags.v1")
///     k(id) = BLAKE2b-128(key: K, chunk id)
///     tag_i = SipHash-2-4-128(key: k(id), block i of the raw chunk bytes)
///
/// Tags live in the index (`chunk_tags`), are never sent to peers, and are only valid on this
/// node. A block whose tag matches is, short of forging a keyed PRF without the key, the block
/// that was hashed to the id; a tag bound to another chunk never verifies. A mismatch is not
/// trusted either way: the reader falls back to hashing the whole chunk to its id, so a damaged
/// tag costs time, never wrong bytes or a false error.
public struct BlockTagger: Sendable {
    public static let blockSize = 16 << 10
    public static let tagSize = 16
    private let key: [UInt8]

    public init(identity: NodeIdentity) {
        precondition(ObjectHasher.initialized)
        let context = Array("ark.block-tags.v1".utf8)
        var k = [UInt8](repeating: 0, count: 32)
        identity.secretKey.withUnsafeBufferPointer { sk in
            _ = crypto_generichash(&k, 32, context, UInt64(context.count), sk.baseAddress, 32)
        }
        key = k
    }

    public static func blockCount(_ length: Int) -> Int { (length + blockSize - 1) / blockSize }

    /// The per-chunk SipHash key.
    func chunkKey(_ id: ObjectID) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: Int(crypto_shorthash_siphashx24_KEYBYTES))
        id.withBytes { idb in
            _ = crypto_generichash(&k, k.count, idb.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(idb.count), key, key.count)
        }
        return k
    }

    /// Tags of every block of `bytes`, concatenated (16 bytes each).
    public func tags(for id: ObjectID, _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let k = chunkKey(id)
        let n = Self.blockCount(bytes.count)
        return [UInt8](unsafeUninitializedCapacity: n * Self.tagSize) { out, count in
            Self.computeTags(bytes, key: k, into: out.baseAddress!)
            count = n * Self.tagSize
        }
    }

    /// SipHash-2-4-128 of each block, several blocks at once where the CPU has vector lanes
    /// for it (`CArkSipHash`); equal to libsodium's `crypto_shorthash_siphashx24` per block.
    static func computeTags(_ bytes: UnsafeRawBufferPointer, key: [UInt8], into out: UnsafeMutablePointer<UInt8>) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        ark_siphashx24_blocks(base.assumingMemoryBound(to: UInt8.self), bytes.count, blockSize, key, out)
    }

    public func tags(for id: ObjectID, _ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { tags(for: id, $0) } }

    /// Checks consecutive blocks `first...` of a chunk: `bytes` starts at block `first` and
    /// ends at a block boundary or the chunk's end. False if any block's tag differs.
    func verify(_ bytes: UnsafeRawBufferPointer, firstBlock first: Int, tags: [UInt8], key k: [UInt8]) -> Bool {
        let n = Self.blockCount(bytes.count)
        guard (first + n) * Self.tagSize <= tags.count else { return false }
        guard n > 0 else { return true }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n * Self.tagSize) { computed in
            Self.computeTags(bytes, key: k, into: computed.baseAddress!)
            return tags.withUnsafeBytes { t in
                sodium_memcmp(computed.baseAddress!, t.baseAddress! + first * Self.tagSize, n * Self.tagSize) == 0
            }
        }
    }
}
