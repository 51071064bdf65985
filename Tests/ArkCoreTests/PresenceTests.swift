import Foundation
import Testing

@testable import ArkCore

/// `Repository.presence(ofTree:absent:)`: distinct chunks counted once, absent ones not
/// present, multi-level manifests followed.
@Suite struct PresenceTests {
    @Test func sharedChunksCountOnceAndAbsentOnesAreNotPresent() throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        let stored = Array(repeating: UInt8(7), count: 1000)
        let c1 = try session.put(.chunk, stored)
        var rng = SeededRandom(seed: 5)
        let c2 = ObjectSamples.id(&rng)  // known (from a peer's manifest) but not stored here
        let m1 = try session.putManifest([.init(id: c1, length: 1000), .init(id: c2, length: 300)])
        let m2 = try session.putManifest([.init(id: c1, length: 1000)])
        let sub = try session.put(.tree, try Tree(entries: [.file("c", manifest: m2, size: 1000)]).encoded())
        let root = try session.put(
            .tree,
            try Tree(entries: [
                .file("a", manifest: m1, size: 1300), .file("b", manifest: m1, size: 1300, executable: true),
                .directory("sub", tree: sub, size: 1000)
            ]).encoded())
        try session.checkpoint()
        try store.repo.index.insertAbsent([(id: c2, kind: .chunk, rawLength: 300)])

        let absent = try store.repo.index.absentIDs(kind: .chunk)
        #expect(absent == [c2])
        let p = try store.repo.presence(ofTree: root, absent: absent)
        #expect(p.chunks == 2 && p.bytes == 1300)
        #expect(p.presentChunks == 1 && p.presentBytes == 1000)
        // With nothing absent, everything is present.
        #expect(try store.repo.presence(ofTree: root, absent: []).presentBytes == 1300)
    }

    @Test func multiLevelManifestsAreFollowed() throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        var rng = SeededRandom(seed: 11)
        let n = ObjectLimits.maxManifestEntries + 3
        let entries = (0..<n).map { _ in Manifest.Entry(id: ObjectSamples.id(&rng), length: 10) }
        let m = try session.putManifest(entries)
        let root = try session.put(.tree, try Tree(entries: [.file("big", manifest: m, size: UInt64(10 * n))]).encoded())
        try session.checkpoint()
        let p = try store.repo.presence(ofTree: root, absent: Set(entries.dropFirst().map(\.id)))
        #expect(p.chunks == n && p.bytes == UInt64(10 * n))
        #expect(p.presentChunks == 1 && p.presentBytes == 10)
    }

    @Test func aMissingTreeIsAnError() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 3)
        #expect(throws: ArkError.self) { try store.repo.presence(ofTree: ObjectSamples.id(&rng), absent: []) }
    }
}
