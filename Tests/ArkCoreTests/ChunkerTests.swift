import CArkIO
import Foundation
import Testing

@testable import ArkCore

@Suite struct ChunkerTests {
    static let params = ChunkerParameters.default

    @Test func deterministicAndWithinBounds() {
        var rng = SeededRandom(seed: 42)
        let data = rng.bytes(12 << 20)
        let chunker = Chunker()
        let a = chunker.lengths(of: data)
        let b = Chunker(Self.params).lengths(of: data)
        #expect(a == b)
        #expect(a.reduce(0, +) == data.count)
        #expect(a.count > 4)
        for n in a.dropLast() { #expect(n >= Self.params.min && n <= Self.params.max) }
        #expect(a.last! > 0 && a.last! <= Self.params.max)
    }

    @Test func smallInputsAreOneChunk() {
        let c = Chunker()
        #expect(c.lengths(of: []) == [])
        #expect(c.lengths(of: [1]) == [1])
        #expect(c.lengths(of: [UInt8](repeating: 7, count: Self.params.min)) == [Self.params.min])
    }

    @Test func uniformDataCutsAtMax() {
        // No content boundary in constant data: every chunk but the last is max-sized.
        let lengths = Chunker().lengths(of: [UInt8](repeating: 0, count: 5 * Self.params.max + 10))
        #expect(lengths == [Int](repeating: Self.params.max, count: 5) + [10])
    }

    @Test func insertionChangesFewChunks() {
        var rng = SeededRandom(seed: 7)
        var data = rng.bytes(64 << 20)
        func chunkIDs(_ d: [UInt8]) -> [ObjectID: Int] {
            var out: [ObjectID: Int] = [:]
            d.withUnsafeBytes { all in
                var pos = 0
                for n in Chunker().lengths(of: d) {
                    out[ObjectHasher.hash(.chunk, UnsafeRawBufferPointer(rebasing: all[pos..<pos + n])), default: 0] += 1
                    pos += n
                }
            }
            return out
        }
        let before = chunkIDs(data)
        data.insert(0x42, at: data.count / 2 + 12345)
        let after = chunkIDs(data)
        // Multiset difference: chunks of `after` not matched by a chunk of `before`.
        var changed = 0
        for (id, n) in after { changed += max(0, n - (before[id] ?? 0)) }
        #expect(changed >= 1)
        #expect(changed <= 4, "\(changed) chunks changed")
        #expect(before.values.reduce(0, +) > 64)
    }

    @Test func streamMatchesInMemoryChunking() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 11)
        let data = rng.bytes(9 << 20 + 333)
        let path = try store.writeFile("stream", data)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var stream = FileChunkStream(fd: fd, path: path, chunker: Chunker())
        defer { stream.deallocate() }
        var lengths: [Int] = []
        var joined: [UInt8] = []
        while let c = try stream.next() { lengths.append(c.count); joined += c }
        #expect(lengths == Chunker().lengths(of: data))
        #expect(joined == data)
    }

    /// Read with O_DIRECT (page-aligned reads, the tail of each buffer moved to where the next
    /// read starts aligned, the last short read falling back to an ordinary one) the stream
    /// cuts the same chunks as an ordinary read, for sizes on and off page boundaries.
    @Test(arguments: [20 << 20, 20 << 20 + 1, 20 << 20 + 4095, 9 << 20 + 333])
    func directReadsCutTheSameChunks(size: Int) throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: UInt64(size))
        let data = rng.bytes(size)
        let path = try store.writeFile("direct", data)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        // Whether this file system takes O_DIRECT at all (tmpfs may not: then reads are ordinary).
        let probe = open(path, O_RDONLY | ark_o_direct())
        let supported = probe >= 0
        if probe >= 0 { close(probe) }
        var stream = FileChunkStream(fd: fd, path: path, chunker: Chunker(), directReads: true)
        var lengths: [Int] = []
        var joined: [UInt8] = []
        // After each batch: still reading with O_DIRECT? Only the last read (short, at an
        // unaligned end) may have fallen back.
        var directAfter: [Bool] = []
        while let batch = try stream.nextBatch() {
            directAfter.append(fcntl(fd, F_GETFL) & ark_o_direct() != 0)
            for i in batch.chunks.indices {
                lengths.append(batch.chunks[i].count)
                joined += batch.bytes(i)
            }
        }
        #expect(directAfter.count >= 2)
        #expect(directAfter.dropLast().allSatisfy { $0 == supported }, "\(directAfter)")
        if size % 4096 == 0 { #expect(directAfter.last == supported) }
        #expect(lengths == Chunker().lengths(of: data))
        #expect(joined == data)
    }
}
