import Foundation
import Testing

@testable import ArkCore

/// The evictable cache of chunks fetched on demand: LRU order, what eviction removes (index
/// row made absent, pack file deleted) and what it must never remove.
@Suite struct CacheEvictionTests {
    /// Stores `count` random chunks of `size` bytes as cache entries, oldest first.
    static func cached(_ store: TestStore, count: Int, size: Int, seed: UInt64) throws -> [ObjectID] {
        var rng = SeededRandom(seed: seed)
        var ids: [ObjectID] = []
        let later = Int64(Date().timeIntervalSince1970 * 1000) + 60_000
        for i in 0..<count {
            let bytes = rng.bytes(size)
            let id = ObjectHasher.hash(.chunk, bytes)
            let session = try WriteSession(store.repo)
            #expect(try session.putCachedChunk(id, bytes))
            try store.repo.index.touchCached([id: later + Int64(i)])
            ids.append(id)
        }
        return ids
    }

    static func packCount(_ store: TestStore) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: store.repo.packDirectory).count
    }

    @Test func evictsLeastRecentlyUsedFirstAndDeletesTheirPacks() throws {
        let store = try TestStore()
        let ids = try Self.cached(store, count: 8, size: 64 << 10, seed: 1)
        #expect(try store.repo.index.cacheUsage() == .init(chunks: 8, bytes: 8 * 64 << 10))
        let packsBefore = try Self.packCount(store)
        // Chunk 0 is used again: it becomes the most recent.
        try store.repo.index.touchCached([ids[0]: Int64(Date().timeIntervalSince1970 * 1000) + 120_000])
        let e = try store.repo.evictCache(downTo: 5 * 64 << 10)
        #expect(e == CacheEviction(chunks: 3, bytes: 3 * 64 << 10))
        for id in ids[1...3] {
            #expect(try store.repo.index.object(id)?.isPresent == false, "evicted chunk is known but absent")
            #expect(throws: ArkError.self) { _ = try store.repo.read(id, kind: .chunk) }
        }
        for id in [ids[0]] + Array(ids[4...]) { #expect(try store.repo.read(id, kind: .chunk).count == 64 << 10) }
        #expect(try Self.packCount(store) == packsBefore - 3)
        #expect(try store.repo.evictCache(downTo: 5 * 64 << 10) == CacheEviction())
    }

    @Test func chunksAnOwnCommitUsesAreKept() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 2)
        let data = rng.bytes(3 << 20)
        // The same bytes arrive first as cached chunks (as a mount of a peer's commit would fetch them).
        let ids: [ObjectID]
        do {
            let session = try WriteSession(store.repo)
            let file = try store.putFile(data, in: session, name: "probe")
            try session.checkpoint()
            let m = try Manifest(decoding: try store.repo.read(file.manifest, kind: .manifest))
            ids = (0..<m.count).map { m.entry(at: $0).id }
        }
        let other = try TestStore()
        for id in ids {
            let bytes = try store.repo.read(id, kind: .chunk)
            let session = try WriteSession(other.repo)
            #expect(try session.putCachedChunk(id, bytes))
        }
        #expect(try other.repo.index.cacheUsage().chunks == ids.count)
        // Committing a file with those chunks takes them out of the cache.
        let session = try WriteSession(other.repo)
        _ = try other.putFile(data, in: session, name: "mine")
        try session.checkpoint()
        #expect(try other.repo.index.cacheUsage().chunks == 0)
        #expect(try other.repo.evictCache(downTo: 0) == CacheEviction())
        for id in ids { #expect(try other.repo.index.object(id)?.isPresent == true) }
    }

    @Test func keptChunksAndMetadataAreNeverEvicted() throws {
        let store = try TestStore()
        let ids = try Self.cached(store, count: 4, size: 32 << 10, seed: 3)
        try store.repo.index.keepChunks([ids[0], ids[1]])
        let e = try store.repo.evictCache(downTo: 0)
        #expect(e.chunks == 2)
        #expect(try store.repo.index.object(ids[0])?.isPresent == true)
        #expect(try store.repo.index.object(ids[1])?.isPresent == true)
        #expect(try store.repo.index.object(ids[2])?.isPresent == false)
        // A chunk already stored is not made a cache entry by a later fetch of it.
        let session = try WriteSession(store.repo)
        #expect(try session.putCachedChunk(ids[0], try store.repo.read(ids[0], kind: .chunk)))
        #expect(try store.repo.index.cacheUsage().chunks == 0)
        #expect(try store.repo.verify(roots: [], allObjects: true).problems.isEmpty)
    }
}
