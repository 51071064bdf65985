import Foundation
import Testing

@testable import ArkCore

extension CacheEvictionTests {
    /// Eviction deletes the newest packs; the next pack must not get one of their ids (a
    /// running mount keeps descriptors by pack id).
    @Test func packIDsFreedByEvictionAreNotReused() throws {
        let store = try TestStore()
        _ = try Self.cached(store, count: 4, size: 32 << 10, seed: 5)
        let before = try store.repo.index.packs().map(\.id).max() ?? 0
        #expect(try store.repo.evictCache(downTo: 0).chunks == 4)
        #expect(try store.repo.index.packs().isEmpty)
        var rng = SeededRandom(seed: 6)
        let session = try WriteSession(store.repo)
        try session.put(.chunk, rng.bytes(1000))
        try session.checkpoint()
        let after = try #require(try store.repo.index.packs().map(\.id).max())
        #expect(after > before, "pack id \(after) was used before (up to \(before))")
    }

    /// A fetch that stores a chunk a commit published first must not make the commit's copy
    /// evictable.
    @Test func aFetchDoesNotCacheAChunkACommitStoredFirst() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 7)
        let bytes = rng.bytes(50_000)
        let id = ObjectHasher.hash(.chunk, bytes)
        let fetch = try WriteSession(store.repo)
        // The fetch writes its copy, then a commit publishes its own before the fetch does.
        #expect(try fetch.putVerified(id, .chunk, bytes))
        let commit = try WriteSession(store.repo)
        try commit.put(.chunk, bytes)
        try commit.checkpoint()
        #expect(try fetch.putCachedChunk(id, bytes))
        #expect(try store.repo.index.cacheUsage().chunks == 0)
        try store.repo.evictCache(downTo: 0)
        #expect(try store.repo.read(id, kind: .chunk) == bytes)
    }
}
