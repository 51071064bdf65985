import CArkSipHash
import CSodium

/// Local integrity tags of stored chunks, so a read can verify a 16 KiB block of a chunk
/// without reading and hashing the whole chunk (random reads, first bytes, cheaper streaming).
///
/// A chunk's id is the BLAKE2b-256 of its bytes; a block of it cannot be checked against that
/// id alone. So when this node stores a chunk, right after hashing the same bytes to its id, it
/// also tags each block:
///
///     S     = the store's tag key: 32 random bytes in <store>/tags.key, made with the store
///     k(id) = BLAKE2b-128(key: S, chunk id)
///     tag_i = SipHash-2-4-128(key: k(id), LE64(i) || LE64(chunk length) || block i)
///
/// The key is the store's, not the node's: tags outlive a change of node key. Binding the
/// block's index and the chunk's length (a 16-byte header, two SipHash compressions per block)
/// means blocks swapped within a chunk, or a chunk read with a wrong length, do not verify;
/// binding the id means another chunk's tags do not either. Tags live in the index
/// (`chunk_tags`), are never sent to peers, and are only valid in this store. A mismatch is not
/// trusted either way: the reader falls back to hashing the whole chunk to its id, so a damaged
/// tag costs time, never wrong bytes or a false error.
package struct BlockTagger: Sendable {
    package static let blockSize = 16 << 10
    package static let tagSize = 16
    package static let keySize = 32
    let key: [UInt8]

    /// A tagger with the store tag key `key` (`keySize` bytes).
    package init(key: [UInt8]) {
        precondition(ObjectHasher.initialized && key.count == Self.keySize)
        self.key = key
    }

    /// A tagger with a new random key.
    package static func random() -> BlockTagger {
        var k = [UInt8](repeating: 0, count: keySize)
        randombytes_buf(&k, keySize)
        return BlockTagger(key: k)
    }

    /// Names the key without revealing it (recorded in the index beside the tags it made).
    package var fingerprint: [UInt8] {
        let context = Array("ark.block-tags.v2 key fingerprint".utf8)
        var fp = [UInt8](repeating: 0, count: 32)
        _ = crypto_generichash(&fp, fp.count, context, UInt64(context.count), key, key.count)
        return fp
    }

    package static func blockCount(_ length: Int) -> Int { (length + blockSize - 1) / blockSize }

    /// Whether an object of `length` bytes gets tags: one of a single block does not (a read
    /// of any part of it reads it whole and hashes it to its id anyway; in a tree of small
    /// files their rows were a sixth of the index).
    package static func tagsKept(length: Int) -> Bool { length > blockSize }

    /// The per-chunk SipHash key.
    func chunkKey(_ id: ObjectID) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: Int(crypto_shorthash_siphashx24_KEYBYTES))
        id.withBytes { idb in
            _ = crypto_generichash(&k, k.count, idb.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(idb.count), key, key.count)
        }
        return k
    }

    /// Tags of every block of the whole chunk `bytes`, concatenated (16 bytes each).
    package func tags(for id: ObjectID, _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let k = chunkKey(id)
        let n = Self.blockCount(bytes.count)
        return [UInt8](unsafeUninitializedCapacity: n * Self.tagSize) { out, count in
            Self.computeTags(bytes, key: k, firstBlock: 0, chunkLength: bytes.count, into: out.baseAddress!)
            count = n * Self.tagSize
        }
    }

    /// SipHash-2-4-128 of each block behind its header (index, chunk length), several blocks
    /// at once where the CPU has vector lanes for it (`CArkSipHash`); equal per block to
    /// libsodium's `crypto_shorthash_siphashx24` of header and block. `bytes` starts at block
    /// `firstBlock` of a chunk of `chunkLength` bytes.
    static func computeTags(
        _ bytes: UnsafeRawBufferPointer, key: [UInt8], firstBlock: Int, chunkLength: Int,
        into out: UnsafeMutablePointer<UInt8>
    ) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        ark_block_tags(
            base.assumingMemoryBound(to: UInt8.self), bytes.count, blockSize, key,
            UInt64(firstBlock), UInt64(chunkLength), out)
    }

    package func tags(for id: ObjectID, _ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { tags(for: id, $0) } }

    /// Checks consecutive blocks `first...` of a chunk of `chunkLength` bytes: `bytes` starts
    /// at block `first` and ends at a block boundary or the chunk's end. False if any block's
    /// tag differs.
    func verify(_ bytes: UnsafeRawBufferPointer, firstBlock first: Int, chunkLength: Int, tags: [UInt8], key k: [UInt8]) -> Bool {
        let n = Self.blockCount(bytes.count)
        guard (first + n) * Self.tagSize <= tags.count else { return false }
        guard n > 0 else { return true }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n * Self.tagSize) { computed in
            Self.computeTags(bytes, key: k, firstBlock: first, chunkLength: chunkLength, into: computed.baseAddress!)
            return tags.withUnsafeBytes { t in
                sodium_memcmp(computed.baseAddress!, t.baseAddress! + first * Self.tagSize, n * Self.tagSize) == 0
            }
        }
    }
}
