import CArkIO
import CArkSipHash
import CSodium
import Foundation
import GRDB
import Testing

@testable import ArkCore

/// Block tags: reading part of a chunk checks only the blocks that cover it; a damaged block
/// is never served; a damaged or foreign tag only costs a whole-chunk hash.
@Suite struct BlockTagTests {
    /// A store holding one incompressible file (raw chunks) and one compressible file (zstd
    /// chunks); returns their chunk ids and bytes.
    static func store() throws -> (TestStore, raw: [(ObjectID, [UInt8])], zstd: [(ObjectID, [UInt8])]) {
        let store = try TestStore()
        var rng = SeededRandom(seed: 77)
        let random = rng.bytes(3 << 20)
        let text = (0..<60_000).flatMap { Array("line \($0) of a compressible file\n".utf8) }
        let session = try WriteSession(store.repo)
        let a = try store.putFile(random, in: session, name: "random")
        let b = try store.putFile(text, in: session, name: "text")
        try session.checkpoint()
        func chunks(_ manifest: ObjectID, _ data: [UInt8]) throws -> [(ObjectID, [UInt8])] {
            let m = try store.repo.manifest(manifest)
            return (0..<m.count).map { i in
                let start = Int(m.start(at: i))
                return (m.id(at: i), Array(data[start..<start + Int(m.entry(at: i).length)]))
            }
        }
        return (store, try chunks(a.manifest, random), try chunks(b.manifest, text))
    }

    @Test func everyStoredChunkIsTagged() throws {
        let (store, raw, zstd) = try Self.store()
        #expect(try store.repo.index.tagCount() == raw.count + zstd.count)
        for (id, bytes) in raw + zstd {
            let (_, tags) = try #require(try store.repo.index.objectForRead(id))
            #expect(tags?.count == BlockTagger.blockCount(bytes.count) * BlockTagger.tagSize)
        }
        #expect(try store.repo.index.object(raw[0].0)?.location?.compression == PackFormat.Compression.none)
        #expect(try store.repo.index.object(zstd[0].0)?.location?.compression == .zstd)
    }

    /// Ranges: first byte, inside one block, across a block boundary, the last partial block,
    /// empty, the whole chunk, and past the end (clamped).
    @Test(arguments: [0..<1, 100..<4196, 16380..<16390, 16384..<32768, 5..<5, -1..<0, 0..<Int.max])
    func rangesReadExactlyTheirBytes(_ r: Range<Int>) throws {
        let (store, raw, zstd) = try Self.store()
        for (id, bytes) in [raw[0], raw[raw.count - 1], zstd[0]] {
            let range: Range<Int> = r.lowerBound < 0 ? (bytes.count - 7)..<bytes.count : r
            let want = Array(bytes[range.clamped(to: 0..<bytes.count)])
            #expect(try store.repo.readChunk(id, range: range) == want)
        }
        #expect(try store.repo.readChunk(raw[1].0) == raw[1].1)
    }

    @Test func aDamagedBlockIsNeverServedButOtherBlocksAre() throws {
        let (store, raw, _) = try Self.store()
        let (id, bytes) = raw[1]
        try #require(bytes.count > 3 * BlockTagger.blockSize)
        try store.corrupt(id, at: UInt64(BlockTagger.blockSize + 10))  // inside block 1
        // Blocks 0 and 2 check out by their tags.
        #expect(try store.repo.readChunk(id, range: 0..<100) == Array(bytes[0..<100]))
        let b2 = 2 * BlockTagger.blockSize
        #expect(try store.repo.readChunk(id, range: b2..<b2 + 4096) == Array(bytes[b2..<b2 + 4096]))
        // Block 1 fails its tag, then the whole chunk fails its id: an error naming the chunk.
        do {
            _ = try store.repo.readChunk(id, range: BlockTagger.blockSize..<BlockTagger.blockSize + 1)
            Issue.record("a damaged block was served")
        } catch let e as ArkError {
            #expect(e.code == .corrupt)
            #expect(e.message.contains(id.hex))
        }
        #expect(throws: ArkError.self) { _ = try store.repo.readChunk(id) }
    }

    @Test func damagedTagsCostAHashNotAnError() throws {
        let (store, raw, zstd) = try Self.store()
        let victims = [raw[0], zstd[0]]
        try store.repo.index.write { db in
            for (id, bytes) in victims {
                let zeros = Data(count: BlockTagger.blockCount(bytes.count) * BlockTagger.tagSize)
                try db.execute(sql: "UPDATE chunk_tags SET tags = ? WHERE id = ?", arguments: [zeros, id])
            }
            // Tags of the wrong length are ignored too.
            try db.execute(sql: "UPDATE chunk_tags SET tags = x'00' WHERE id = ?", arguments: [raw[1].0])
        }
        for (id, bytes) in victims + [raw[1]] {
            #expect(try store.repo.readChunk(id) == bytes)
            #expect(try store.repo.readChunk(id, range: 10..<20) == Array(bytes[10..<20]))
        }
    }

    /// A chunk read whole past damaged tags is tagged again from the verified bytes; tags are
    /// never recorded for an object that is not stored.
    @Test func damagedTagsAreReplacedOnceTheChunkHashesToItsID() throws {
        let (store, raw, _) = try Self.store()
        let (id, bytes) = raw[0]
        let zeros = Data(count: BlockTagger.blockCount(bytes.count) * BlockTagger.tagSize)
        try store.repo.index.write { db in
            try db.execute(sql: "UPDATE chunk_tags SET tags = ? WHERE id = ?", arguments: [zeros, id])
            try db.execute(sql: "DELETE FROM chunk_tags WHERE id = ?", arguments: [raw[1].0])
        }
        #expect(try store.repo.readChunk(id, range: 0..<10) == Array(bytes[0..<10]))
        #expect(try store.repo.readChunk(raw[1].0) == raw[1].1)
        let unknown = ObjectHasher.hash(.chunk, [9, 9, 9])
        store.repo.backfillTags(unknown, [9, 9, 9])
        store.repo.flushTagBackfill()
        for (i, b) in [(id, bytes), raw[1]] {
            #expect(try store.repo.index.objectForRead(i)?.tags == store.repo.blockTagger.tags(for: i, b))
        }
        #expect(try store.repo.index.tagCount() == Self.chunkCount(store))
    }

    /// Blocks 0 and 1 of a raw chunk swapped in its pack and their tags swapped with them:
    /// neither a range inside them (the mount's reads), nor a batch, nor a whole read
    /// returns the reordered bytes.
    @Test func swappedBlocksWithTheirTagsAreNotServed() throws {
        let (store, raw, _) = try Self.store()
        let (id, bytes) = try #require(raw.first { $0.1.count >= 3 * BlockTagger.blockSize })
        let bs = BlockTagger.blockSize, ts = BlockTagger.tagSize
        let (obj, tags) = try #require(try store.repo.index.objectForRead(id))
        let loc = try #require(obj.location)
        var t = try #require(tags)
        let first = Array(t[0..<ts])
        t.replaceSubrange(0..<ts, with: t[ts..<2 * ts])
        t.replaceSubrange(ts..<2 * ts, with: first)
        try store.repo.index.write { db in try db.execute(sql: "UPDATE chunk_tags SET tags = ? WHERE id = ?", arguments: [Data(t), id]) }
        let name = try #require(try store.repo.index.packName(loc.pack))
        let path = store.repo.packDirectory + "/" + name
        chmod(path, 0o644)
        let fd = open(path, O_RDWR)
        try #require(fd >= 0)
        var swapped = Array(bytes[bs..<2 * bs] + bytes[0..<bs])
        #expect(pwrite(fd, &swapped, 2 * bs, off_t(loc.offset)) == 2 * bs)
        close(fd)
        for range in [0..<100, bs..<bs + 100, 0..<2 * bs] {
            let error = #expect(throws: ArkError.self) { _ = try store.repo.readChunk(id, range: range) }
            #expect(error?.code == .corrupt)
        }
        #expect(throws: ArkError.self) { _ = try store.repo.readChunk(id) }
        #expect(throws: ArkError.self) { try store.repo.readChunks([id])[0].get() }
        // Block 2 is where it was, with its own tag.
        #expect(try store.repo.readChunk(id, range: 2 * bs..<2 * bs + 10) == Array(bytes[2 * bs..<2 * bs + 10]))
    }

    static func chunkCount(_ store: TestStore) throws -> Int {
        try store.repo.index.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE kind = ?", arguments: [Int64(ObjectKind.chunk.rawValue)]) ?? 0
        }
    }

    @Test func tagsAreBoundToTheStoreKeyTheChunkAndEachBlocksPosition() throws {
        let (store, raw, _) = try Self.store()
        let other = try TestStore()
        let (a, bytesA) = raw[0], (b, _) = raw[1]
        try #require(bytesA.count > 2 * BlockTagger.blockSize)
        let tags = store.repo.blockTagger.tags(for: a, bytesA)
        let tagger = store.repo.blockTagger
        func verifies(_ t: BlockTagger, _ bytes: [UInt8], first: Int = 0, length: Int? = nil, tags: [UInt8], as id: ObjectID) -> Bool {
            bytes.withUnsafeBytes { t.verify($0, firstBlock: first, chunkLength: length ?? bytesA.count, tags: tags, key: t.chunkKey(id)) }
        }
        #expect(verifies(tagger, bytesA, tags: tags, as: a))
        #expect(!verifies(tagger, bytesA, tags: tags, as: b), "tags made for chunk a must not verify as chunk b")
        let foreign = other.repo.blockTagger
        #expect(!verifies(foreign, bytesA, tags: tags, as: a), "tags made in one store must not verify under another store's key")
        // Blocks 0 and 1 swapped, and their tags with them: each block meets its own tag at the
        // other's position, which must not verify.
        let bs = BlockTagger.blockSize, ts = BlockTagger.tagSize
        let swapped = Array(bytesA[bs..<2 * bs] + bytesA[0..<bs] + bytesA[(2 * bs)...])
        let swappedTags = Array(tags[ts..<2 * ts] + tags[0..<ts] + tags[(2 * ts)...])
        #expect(!verifies(tagger, Array(swapped[0..<bs]), tags: swappedTags, as: a))
        #expect(!verifies(tagger, Array(swapped[bs..<2 * bs]), first: 1, tags: swappedTags, as: a))
        // The same bytes as a chunk of another length (a truncated index row) do not verify.
        #expect(!verifies(tagger, Array(bytesA[0..<bs]), length: bs, tags: tags, as: a))
        #expect(verifies(tagger, Array(bytesA[bs..<2 * bs]), first: 1, tags: tags, as: a))
    }

    @Test func gcDropsTagsOfDeadChunks() throws {
        let (store, raw, zstd) = try Self.store()
        // Nothing references the files (no commit): gc removes every chunk and its tags.
        _ = try store.repo.gc()
        #expect(try store.repo.index.tagCount() == 0)
        #expect(raw.count + zstd.count > 0)
    }

    /// The vector paths (1 and 8 blocks at once) give libsodium's SipHash-2-4-128 of every
    /// block behind its header (block index, chunk length, little-endian 64-bit words), for
    /// lengths around block and lane-group boundaries, from the chunk's first block and from
    /// a later one.
    @Test(arguments: [1, 4, 8], [1, 7, 8, 16_383, 16_384, 16_385, 4 * 16_384, 7 * 16_384 + 3, 8 * 16_384, 13 * 16_384 + 9, 300_001])
    func vectorTagsMatchLibsodium(lanes: Int32, length: Int) {
        var rng = SeededRandom(seed: UInt64(length))
        let bytes = rng.bytes(length)
        let key = rng.bytes(16)
        let bs = BlockTagger.blockSize
        let n = BlockTagger.blockCount(length)
        for first in [0, 5] {
            let chunkLength = first * bs + length
            var expected = [UInt8](repeating: 0, count: n * 16)
            for i in 0..<n {
                let lo = i * bs, hi = min(lo + bs, length)
                var message: [UInt8] = []
                withUnsafeBytes(of: UInt64(first + i).littleEndian) { message += $0 }
                withUnsafeBytes(of: UInt64(chunkLength).littleEndian) { message += $0 }
                message += bytes[lo..<hi]
                _ = crypto_shorthash_siphashx24(&expected[i * 16], message, UInt64(message.count), key)
            }
            var got = [UInt8](repeating: 0xAA, count: n * 16)
            ark_block_tags_lanes(bytes, length, bs, key, UInt64(first), UInt64(chunkLength), &got, lanes)
            #expect(got == expected, "first block \(first)")
            var viaTagger = [UInt8](repeating: 0x55, count: n * 16)
            bytes.withUnsafeBytes { BlockTagger.computeTags($0, key: key, firstBlock: first, chunkLength: chunkLength, into: &viaTagger) }
            #expect(viaTagger == expected, "first block \(first)")
        }
    }

    /// O_DIRECT reads at unaligned offsets, across an alignment boundary and up to the end of
    /// a file whose size is not a multiple of the alignment.
    @Test(arguments: [(0, 1), (4090, 20), (9000, 1000), (1, 9999), (5000, 5000)])
    func directReadsOfUnalignedRanges(_ offset: Int, _ count: Int) throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 5)
        let data = rng.bytes(10_000)
        let dir = store.directory + "/direct"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(data).write(to: URL(fileURLWithPath: dir + "/p.pack"))
        let reader = DirectPackReader(directory: dir)
        let got = reader.read(pack: 1, name: { "p.pack" }, offset: UInt64(offset), count: count) { Array($0) }
        #expect(got == Array(data[offset..<offset + count]))
        // The same through the page cache (the file was just written, so it is cached).
        let cachedFD = try FileDescriptor(open: dir + "/p.pack", flags: O_RDONLY)
        let viaCache = reader.read(pack: 1, name: { "p.pack" }, offset: UInt64(offset), count: count, cached: cachedFD) { Array($0) }
        #expect(viaCache == Array(data[offset..<offset + count]))
        // Past the end: not served.
        #expect(reader.read(pack: 1, name: { "p.pack" }, offset: 9990, count: 20) { Array($0) } == nil)
    }

    /// Reads larger than a pipe holds go through the pipe in several splices; the pipes are
    /// pooled, so many reads leave no descriptors behind.
    @Test(arguments: [(0, (3 << 20) - 1), (1, (3 << 20) - 2), (12_345, 2_500_000), ((3 << 20) - 5000, 4999)])
    func directReadsLargerThanAPipe(_ offset: Int, _ count: Int) throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 9)
        let data = rng.bytes((3 << 20) - 1)  // not a multiple of the alignment: the last read is short
        let dir = store.directory + "/direct"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(data).write(to: URL(fileURLWithPath: dir + "/p.pack"))
        let directOK = open(dir + "/p.pack", O_RDONLY | ark_o_direct())
        if directOK >= 0 { close(directOK) }
        let reader = DirectPackReader(directory: dir)
        let fdsBefore = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        for _ in 0..<20 {
            let got = reader.read(pack: 1, name: { "p.pack" }, offset: UInt64(offset), count: count) { Array($0) }
            #expect(got == Array(data[offset..<offset + count]))
        }
        let fdsAfter = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        #expect(fdsAfter <= fdsBefore + 2 * DirectPackReader.pooledPipes + 1)
        if directOK >= 0 { #expect(reader.splicedBytes.load(ordering: .relaxed) >= 20 * count) }
    }

    /// Read-ahead batches: neighbours read with one I/O, each checked by its tags; a damaged
    /// chunk in the middle of a run fails alone, and ids that are not chunks or not stored fail
    /// without taking the others down.
    @Test func batchReadsCoalesceAndIsolateFailures() throws {
        let (store, raw, zstd) = try Self.store()
        let all = raw + zstd
        var results = store.repo.readChunks(all.map(\.0))
        for (r, (_, bytes)) in zip(results, all) { #expect((try? r.get()) == bytes) }
        let victim = raw[raw.count / 2]
        try store.corrupt(victim.0, at: 5)
        let unknown = ObjectHasher.hash(.chunk, [1, 2, 3])
        results = store.repo.readChunks(raw.map(\.0) + [unknown])
        for (r, (id, bytes)) in zip(results, raw) {
            if id == victim.0 {
                #expect(throws: ArkError.self) { try r.get() }
            } else {
                #expect((try? r.get()) == bytes)
            }
        }
        #expect(throws: ArkError.self) { try results.last!.get() }
    }

    /// Chunks of one block get no tags (a read of any part hashes the whole chunk); reading
    /// them, one by one or in a batch, neither serves damage nor writes tags back.
    @Test func singleBlockChunksAreUntaggedAndCheckedByTheirID() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 78)
        let session = try WriteSession(store.repo)
        var files: [(ObjectID, [UInt8])] = []
        for (i, n) in [1, 700, 4096, BlockTagger.blockSize].enumerated() {
            let bytes = rng.bytes(n)
            files.append((try store.putFile(bytes, in: session, name: "small\(i)").manifest, bytes))
        }
        let big = rng.bytes(BlockTagger.blockSize + 1)
        _ = try store.putFile(big, in: session, name: "two-blocks")
        try session.checkpoint()
        let small = try files.map { (manifest, bytes) -> (ObjectID, [UInt8]) in
            let m = try store.repo.manifest(manifest)
            #expect(m.count == 1)
            return (m.id(at: 0), bytes)
        }
        #expect(try store.repo.index.tagCount() == 1, "only the two-block chunk is tagged")
        for (id, bytes) in small {
            #expect(try store.repo.readChunk(id, range: 0..<1) == Array(bytes[0..<1]))
        }
        #expect(store.repo.readChunks(small.map(\.0)).map { try? $0.get() } == small.map(\.1))
        store.repo.flushTagBackfill()
        #expect(try store.repo.index.tagCount() == 1, "reads tagged no single-block chunk")
        let victim = small[2]
        try store.corrupt(victim.0, at: 100)
        let results = store.repo.readChunks(small.map(\.0))
        for (r, (id, bytes)) in zip(results, small) {
            if id == victim.0 {
                #expect(throws: ArkError.self) { try r.get() }
            } else {
                #expect((try? r.get()) == bytes)
            }
        }
        #expect(throws: ArkError.self) { _ = try store.repo.readChunk(victim.0, range: 0..<1) }
    }
}
