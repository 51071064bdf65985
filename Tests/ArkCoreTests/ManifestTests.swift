import Foundation
import Testing

@testable import ArkCore

@Suite struct ManifestTests {
    static func linearIndex(_ m: Manifest, _ offset: UInt64) -> Int? {
        for i in 0..<m.count where m.start(at: i) <= offset && offset < m.end(at: i) { return i }
        return nil
    }

    @Test(arguments: [0, 1, 2, 3, 17, 1000])
    func binarySearchAgreesWithLinearScan(entries n: Int) {
        var rng = SeededRandom(seed: UInt64(n))
        let m = Manifest(entries: (0..<n).map { _ in Manifest.Entry(id: ObjectSamples.id(&rng), length: 1 + rng.next() % 50) })
        var offsets: [UInt64] = [0, m.totalSize, m.totalSize + 1, m.totalSize &- 1, UInt64.max]
        for i in 0..<m.count { offsets += [m.start(at: i), m.end(at: i) - 1, m.end(at: i)] }
        for _ in 0..<200 where m.totalSize > 0 { offsets.append(rng.next() % m.totalSize) }
        for o in offsets {
            #expect(m.index(containing: o) == Self.linearIndex(m, o), "offset \(o)")
        }
    }

    @Test func twoLevelManifestLocatesEveryOffset() throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        var rng = SeededRandom(seed: 99)
        let n = 2 * ObjectLimits.maxManifestEntries + 5
        let entries = (0..<n).map { _ in Manifest.Entry(id: ObjectSamples.id(&rng), length: 1 + rng.next() % 4096) }
        let rootID = try session.putManifest(entries)
        try session.checkpoint()
        let reader = try FileReader(repo: store.repo, manifest: rootID)
        #expect(reader.root.level == 1)
        #expect(reader.root.count == 3)
        #expect(reader.size == entries.reduce(0) { $0 + $1.length })

        var starts: [UInt64] = []
        var pos: UInt64 = 0
        for e in entries { starts.append(pos); pos += e.length }
        // Every entry boundary (first and last byte) plus random offsets.
        var probes: [Int] = [
            0, n - 1, ObjectLimits.maxManifestEntries - 1, ObjectLimits.maxManifestEntries, 2 * ObjectLimits.maxManifestEntries
        ]
        for _ in 0..<300 { probes.append(Int(rng.next() % UInt64(n))) }
        for i in probes {
            for o in [starts[i], starts[i] + entries[i].length - 1] {
                let found = try #require(try reader.locate(o), "offset \(o)")
                #expect(found.entry == entries[i])
                #expect(found.start == starts[i])
            }
        }
        #expect(try reader.locate(reader.size) == nil)
        // The chunk walk sees the same leaves in order.
        var walked: [Manifest.Entry] = []
        var walkedStarts: [UInt64] = []
        try reader.forEachChunkEntry { e, s in
            walked.append(e); walkedStarts.append(s)
        }
        #expect(walked == entries)
        #expect(walkedStarts == starts)
    }
}
