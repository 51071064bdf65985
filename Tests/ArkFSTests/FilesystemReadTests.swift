import Foundation
import Testing

@testable import ArkCore
@testable import ArkFS

/// Reads through `Filesystem.read` at every chunk boundary, past the end, and on failure.
@Suite struct FilesystemReadTests {
    static let sizes = [100, 1, 4096, 50_000]  // chunk lengths; the file ends with a 7-byte chunk
    static let content = pattern(sizes.reduce(7, +), seed: 3)
    static var boundaries: [Int] {
        var out = [0]
        for s in sizes { out.append(out.last! + s) }
        return out
    }

    let source = MemorySource()
    let fs: Filesystem
    let file: OpenFile

    init() throws {
        let commit = try source.commit([source.file("f", Self.content, chunkSizes: Self.sizes)])
        fs = try Filesystem(source: source, root: .commit(commit), options: Filesystem.Options())
        file = try #require(fs.open(try fs.node(at: "f")))
    }

    /// Reads starting one byte before, at and after every boundary, of lengths that end
    /// before, at and after the next ones.
    @Test(
        arguments: boundaries.flatMap { b in [b - 1, b, b + 1] }.filter { $0 >= 0 && $0 < content.count },
        [1, 2, 99, 4097, 60_000])
    func readReturnsExactlyTheRequestedBytes(offset: Int, count: Int) throws {
        let got = try fs.readSync(file, offset: UInt64(offset), count: count).get()
        #expect(got == Array(Self.content[offset..<min(offset + count, Self.content.count)]))
    }

    @Test func readsAtOrPastTheEndAreEmpty() throws {
        #expect(try fs.readSync(file, offset: UInt64(Self.content.count), count: 10).get().isEmpty)
        #expect(try fs.readSync(file, offset: 1 << 40, count: 10).get().isEmpty)
        #expect(try fs.readSync(file, offset: 0, count: 0).get().isEmpty)
    }

    @Test func aSequentialReaderGetsTheWholeFileInSmallReads() throws {
        var out: [UInt8] = []
        var pos = 0
        while pos < Self.content.count {
            out += try fs.readSync(file, offset: UInt64(pos), count: 4096).get()
            pos += 4096
        }
        #expect(out == Self.content)
    }

    @Test(arguments: [ArkError.Code.corrupt, .timeout, .missing])
    func aFailingChunkFailsTheReadWithItsError(code: ArkError.Code) throws {
        let bad = try #require(source.manifests.values.first).entry(at: 3).id
        source.faults.withLock { $0.chunkErrors[bad] = ArkError(code, "injected") }
        let result = fs.readSync(file, offset: 90, count: 10_000)  // spans chunks 0-3
        guard case .failure(let e) = result else { Issue.record("read succeeded"); return }
        #expect(e.code == code)
        // Chunks the read does not touch still read.
        #expect(try fs.readSync(file, offset: 0, count: 50).get() == Array(Self.content[0..<50]))
    }

    @Test func aManifestThatDisagreesWithTheTreeIsCorrupt() throws {
        let source = MemorySource()
        var entry = source.file("f", pattern(10))
        entry.size = 11
        let fs = try Filesystem(source: source, root: .commit(try source.commit([entry])), options: Filesystem.Options())
        let file = try #require(fs.open(try fs.node(at: "f")))
        guard case .failure(let e) = fs.readSync(file, offset: 0, count: 10) else { Issue.record("read succeeded"); return }
        #expect(e.code == .corrupt)
    }
}
