import Testing

@testable import ArkCore

/// Large manifests are stored raw with block tags, so a mount can open a file from the first
/// block of its manifest (`ManifestPrefix`) instead of reading and hashing all of it.
@Suite struct ManifestPrefixTests {
    static func manifest(_ n: Int, seed: UInt64 = 5) -> Manifest {
        var rng = SeededRandom(seed: seed)
        return Manifest(
            entries: (0..<n).map { i in
                Manifest.Entry(id: ObjectID(bytes: rng.bytes(ObjectID.byteCount)), length: UInt64(1000 + i % 777))
            })
    }

    /// Where the prefix reaches it answers exactly as the whole manifest; past that, nil.
    @Test(arguments: [1, 409, 410, 2000])
    func aPrefixAnswersLikeTheWholeManifestWhereItReaches(_ n: Int) throws {
        let m = Self.manifest(n)
        let cut = min(m.bytes.count, BlockTagger.blockSize)
        let p = try ManifestPrefix(decoding: Array(m.bytes[..<cut]), encodedLength: m.bytes.count)
        #expect(p.count == n && p.totalSize == m.totalSize && p.level == 0)
        #expect(p.available == min(n, (cut - m.recordBase) / Manifest.recordSize))
        #expect(p.coveredSize == m.end(at: p.available - 1))
        var offsets = Array(stride(from: UInt64(0), to: m.totalSize, by: 997))
        offsets += [p.coveredSize - 1, p.coveredSize, m.totalSize - 1, m.totalSize]
        for offset in offsets {
            if offset < p.coveredSize {
                let i = try #require(p.index(containing: offset))
                #expect(i == m.index(containing: offset))
                #expect(p.entry(at: i) == m.entry(at: i) && p.start(at: i) == m.start(at: i))
            } else {
                #expect(p.index(containing: offset) == nil)
            }
        }
    }

    @Test func malformedPrefixesAreRejected() throws {
        let m = Self.manifest(2000)
        let head = Array(m.bytes[..<BlockTagger.blockSize])
        // The encoded length does not fit the entry count.
        #expect(throws: ArkError.self) { try ManifestPrefix(decoding: head, encodedLength: m.bytes.count + 40) }
        // A record that goes backwards.
        var backwards = head
        let record3End = m.recordBase + 3 * Manifest.recordSize + ObjectID.byteCount
        for i in 0..<8 { backwards[record3End + i] = 0 }
        #expect(throws: ArkError.self) { try ManifestPrefix(decoding: backwards, encodedLength: m.bytes.count) }
        // A record past the file's size.
        var past = head
        for i in 0..<8 { past[record3End + i] = 0xff }
        #expect(throws: ArkError.self) { try ManifestPrefix(decoding: past, encodedLength: m.bytes.count) }
        // A whole (small) manifest whose entries do not sum to its size.
        let small = Self.manifest(3)
        var short = small.bytes
        short[short.count - 1] &-= 1
        #expect(throws: ArkError.self) { try ManifestPrefix(decoding: short, encodedLength: short.count) }
        #expect(throws: ArkError.self) { try Manifest(decoding: short) }
    }

    @Test func largeManifestsAreStoredRawTaggedAndReadByTheirFirstBlock() throws {
        let store = try TestStore()
        let large = Self.manifest(2000), small = Self.manifest(10)
        let session = try WriteSession(store.repo)
        let id = try session.put(.manifest, large.bytes)
        let smallID = try session.put(.manifest, small.bytes)
        try session.checkpoint()
        #expect(try store.repo.index.object(id)?.location?.compression == PackFormat.Compression.none)
        let tags = try #require(try store.repo.index.objectForRead(id)?.tags)
        #expect(tags.count == BlockTagger.blockCount(large.bytes.count) * BlockTagger.tagSize)
        #expect(try store.repo.index.objectForRead(smallID)?.tags == nil)
        #expect(try store.repo.manifestPrefix(smallID) == nil)

        let p = try #require(try store.repo.manifestPrefix(id))
        #expect(p.available == (BlockTagger.blockSize - large.recordBase) / Manifest.recordSize)
        #expect(p.entry(at: p.available - 1) == large.entry(at: p.available - 1))

        // A damaged last block: the first block still checks out, the whole manifest does not.
        try store.corrupt(id, at: UInt64(large.bytes.count - 5))
        #expect(try store.repo.manifestPrefix(id) != nil)
        let error = #expect(throws: ArkError.self) { _ = try store.repo.manifest(id) }
        #expect(error?.code == .corrupt)
        // A damaged first block: no prefix (the caller takes the whole path, which reports it).
        try store.corrupt(id, at: 100)
        #expect(try store.repo.manifestPrefix(id) == nil)
    }

    /// A large manifest stored without tags (before the current tag format) is read whole
    /// once, hashed, and tagged; its prefix is answered from those bytes.
    @Test func anUntaggedLargeManifestIsTaggedOnFirstUse() throws {
        let store = try TestStore()
        let large = Self.manifest(2000)
        let session = try WriteSession(store.repo)
        let id = try session.put(.manifest, large.bytes)
        try session.checkpoint()
        try store.repo.index.write { db in try db.execute(sql: "DELETE FROM chunk_tags WHERE id = ?", arguments: [id]) }
        let p = try #require(try store.repo.manifestPrefix(id))
        #expect(p.entry(at: p.available - 1) == large.entry(at: p.available - 1))
        store.repo.flushTagBackfill()
        #expect(try store.repo.index.objectForRead(id)?.tags == store.repo.blockTagger.tags(for: id, large.bytes))
    }
}
