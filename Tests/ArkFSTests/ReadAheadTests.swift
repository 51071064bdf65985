import Foundation
import Testing

@testable import ArkCore
@testable import ArkFS

/// Read-ahead stays within the chunk cache: a streaming reader's prefetched chunks are still
/// cached when it gets to them, whatever the cache size.
@Suite struct ReadAheadTests {
    /// 40 chunks of 256 KiB streamed in 128 KiB reads through the smallest cache (4 MiB, 16
    /// chunks): every chunk past the first two (read by range while the reader was new) is
    /// loaded once. A window of 64 chunks would evict prefetched chunks before their reads,
    /// which would then load them again.
    @Test func aStreamingReaderLoadsEachChunkOnceThroughTheSmallestCache() throws {
        let chunk = 256 << 10
        let sizes = Array(repeating: chunk, count: 40)
        // A seed per chunk: `pattern` repeats every 64 KiB, so equal seeds would make one chunk.
        let content = sizes.indices.flatMap { pattern(chunk, seed: UInt8($0)) }
        let source = MemorySource()
        let commit = try source.commit([source.file("f", content, chunkSizes: sizes)])
        var options = Filesystem.Options()
        options.cacheSize = 4 << 20
        let fs = try Filesystem(source: source, root: .commit(commit), options: options)
        #expect(fs.maxReadAheadBytes <= fs.cache.capacity / 4)
        let file = try #require(fs.open(try fs.node(at: "f")))
        var out: [UInt8] = []
        out.reserveCapacity(content.count)
        var pos = 0
        while pos < content.count {
            out += try fs.readSync(file, offset: UInt64(pos), count: 128 << 10).get()
            pos += 128 << 10
        }
        #expect(out == content)
        let manifest = try #require(source.manifests.values.first)
        #expect(Set((0..<sizes.count).map { manifest.entry(at: $0).id }).count == sizes.count)
        let loads = (2..<sizes.count).map { source.loadCount(manifest.entry(at: $0).id) }
        #expect(loads.allSatisfy { $0 == 1 }, "loads per chunk: \(loads)")
    }
}
