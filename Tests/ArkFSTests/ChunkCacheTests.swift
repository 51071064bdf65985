import Foundation
import Synchronization
import Testing

@testable import ArkCore
@testable import ArkFS

@Suite struct ChunkCacheTests {
    static func get(_ cache: ChunkCache, _ id: ObjectID) -> Result<[UInt8], Error> {
        let done = DispatchSemaphore(value: 0)
        let out = Mutex<Result<[UInt8], Error>?>(nil)
        cache.get(id) { r in
            out.withLock { $0 = r }; done.signal()
        }
        done.wait()
        return out.withLock { $0! }
    }

    /// Six 1 MiB chunks through a 4 MiB cache: the least recently used go, the rest stay.
    @Test func evictsTheLeastRecentlyUsedBeyondCapacity() throws {
        let source = MemorySource()
        let entries = (0..<6).map { i in source.file(FileName("f\(i)"), pattern(1 << 20, seed: UInt8(i))) }
        let ids = entries.map { source.manifests[$0.id!]!.entry(at: 0).id }
        let pool = BlockingPool(threadCount: 4, name: "test-load")
        pool.start()
        defer { pool.shutdown() }
        let cache = ChunkCache(source: source, capacity: 4 << 20, pool: pool)
        for id in ids { _ = try Self.get(cache, id).get() }
        #expect(!cache.contains(ids[0]) && !cache.contains(ids[1]))
        #expect(ids[2...].allSatisfy { cache.contains($0) })
        _ = try Self.get(cache, ids[2]).get()  // a hit: makes ids[2] the newest
        _ = try Self.get(cache, ids[0]).get()  // a miss: loads again, evicts ids[3]
        #expect(source.loadCount(ids[0]) == 2 && source.loadCount(ids[2]) == 1)
        #expect(cache.contains(ids[2]) && !cache.contains(ids[3]))
    }

    /// Concurrent requests for one chunk share one load.
    @Test func concurrentRequestsShareOneLoad() throws {
        let source = MemorySource()
        let entry = source.file("f", pattern(1000))
        let id = source.manifests[entry.id!]!.entry(at: 0).id
        source.faults.withLock { $0.chunkDelay = 0.2 }
        let pool = BlockingPool(threadCount: 4, name: "test-load")
        pool.start()
        defer { pool.shutdown() }
        let cache = ChunkCache(source: source, capacity: 4 << 20, pool: pool)
        let group = DispatchGroup()
        let results = Mutex<[[UInt8]]>([])
        for _ in 0..<8 {
            group.enter()
            cache.get(id) { r in
                if case .success(let b) = r { results.withLock { $0.append(b) } }
                group.leave()
            }
        }
        group.wait()
        #expect(results.withLock { $0.count } == 8 && results.withLock { $0.allSatisfy { $0 == pattern(1000) } })
        #expect(source.loadCount(id) == 1)
    }

    /// A failed load is not cached: the next request tries again.
    @Test func failuresAreNotCached() throws {
        let source = MemorySource()
        let entry = source.file("f", pattern(1000))
        let id = source.manifests[entry.id!]!.entry(at: 0).id
        source.faults.withLock { $0.chunkErrors[id] = ArkError(.corrupt, "injected") }
        let pool = BlockingPool(threadCount: 4, name: "test-load")
        pool.start()
        defer { pool.shutdown() }
        let cache = ChunkCache(source: source, capacity: 4 << 20, pool: pool)
        #expect(throws: ArkError.self) { try Self.get(cache, id).get() }
        source.faults.withLock { $0.chunkErrors = [:] }
        #expect(try Self.get(cache, id).get() == pattern(1000))
        #expect(source.loadCount(id) == 2)
    }
}
