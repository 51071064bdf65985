import Foundation
import Testing

@testable import ArkCore

/// A store that kept its packs locally and is then opened with a bucket: `adoptLocalPacks`
/// uploads them with their directories and a state record, resumes after an interrupted run
/// without sending again what the bucket holds, and does nothing the second time.
@Suite struct BucketAdoptTests {
    @Test func adoptingLocalPacksIsResumableAndIdempotent() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 21)
        _ = try BucketStoreTests.commitFile(store, rng.bytes(1 << 20), name: "a")
        let (head, _) = try BucketStoreTests.commitFile(store, rng.bytes(1 << 20), name: "b")
        let packs = try BucketStoreTests.localPackFiles(store).sorted()
        try #require(packs.count >= 2)
        let bucket = try DirectoryPackStorage(root: store.directory + "/bucket")
        // An earlier run sent the first pack and was killed before marking anything.
        let first = store.repo.packDirectory + "/" + packs[0]
        let firstSize = try #require(try FileManager.default.attributesOfItem(atPath: first)[.size] as? UInt64)
        try bucket.upload(key: "packs/" + packs[0], fromFile: first, length: firstSize)
        bucket.failUploads(true)
        let repo = try Repository(path: store.directory + "/store", packStorage: bucket)
        #expect(throws: ArkError.self) { try repo.adoptLocalPacks() }
        #expect(try repo.index.remotePackNames().isEmpty, "nothing is the bucket's until it holds it")
        #expect(try bucket.list(prefix: "state/").isEmpty)

        bucket.failUploads(false)
        let done = try repo.adoptLocalPacks()
        #expect(done.packsDone == packs.count)
        #expect(done.packsPresent == 1, "the pack the bucket already held is not sent again")
        #expect(try repo.index.remotePackNames() == Set(packs))
        for p in packs { #expect(try bucket.get(key: BucketLayout.directoryKey(p)) != nil) }
        let states = try bucket.list(prefix: "state/")
        try #require(states.count == 1)
        let state = try StoreState(decoding: try #require(try bucket.get(key: states[0].key)), what: states[0].key)
        #expect(state.heads.map(\.commit) == [head.hex])
        #expect(try repo.adoptLocalPacks().packsTotal == 0, "a second run has nothing to do")
        #expect(try bucket.list(prefix: "state/").count == 1)
    }
}
