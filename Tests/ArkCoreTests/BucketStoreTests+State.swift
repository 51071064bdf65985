import Foundation
import Testing

@testable import ArkCore

/// What the state record (`StoreState`) is written for: head changes only; sync rows ride
/// along; a repair moves own sequence numbers past any signed after the record.
extension BucketStoreTests {
    static func announcement(repo: String, writer: ObjectID, seq: UInt64, head: ObjectID) -> StoredAnnouncement {
        StoredAnnouncement(repo: repo, writer: writer, name: "main", seq: seq, head: head, bytes: Array("signed \(seq)".utf8))
    }

    @Test(arguments: [false, true])
    func peerAnnouncementsDoNotWriteTheStateRecord(bucket withBucket: Bool) throws {
        let store = try TestStore(bucket: withBucket)
        var rng = SeededRandom(seed: 31)
        let (commit, _) = try Self.commitFile(store, rng.bytes(1 << 16))
        let sequence = try store.repo.index.stateSequence()
        let stateKeys = try store.bucket?.keys("state/")
        let peer = ObjectID(bytes: rng.bytes(32))
        for seq in 1...20 as ClosedRange<UInt64> {
            #expect(
                try store.repo.index.recordSeen(Self.announcement(repo: "repo", writer: peer, seq: seq, head: commit), time: 0) == .recorded
            )
            try store.repo.index.recordOwn(Self.announcement(repo: "repo", writer: peer, seq: seq, head: commit))
        }
        #expect(try store.repo.index.stateSequence() == sequence, "no state record for sync rows alone")
        #expect(try store.bucket?.keys("state/") == stateKeys)
        // The next head change writes them along.
        try Self.commitFile(store, rng.bytes(1 << 16), name: "g")
        #expect(try store.repo.index.stateSequence() == sequence + 1)
        let state = try #require(try store.repo.newestState())
        #expect(state.seen.map(\.seq) == [20] && state.own.map(\.seq) == [20])
    }

    @Test func repairMovesOwnSequenceNumbersPastTheStateRecord() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 32)
        let (commit, _) = try Self.commitFile(store, rng.bytes(1 << 16))
        let me = store.repo.identity.endpointID
        try store.repo.index.recordOwn(Self.announcement(repo: "repo", writer: me, seq: 5, head: commit))
        try Self.commitFile(store, rng.bytes(1 << 16), name: "g")  // state record with own seq 5
        try store.repo.index.recordOwn(Self.announcement(repo: "repo", writer: me, seq: 9, head: commit))  // not mirrored
        for suffix in ["", "-wal", "-shm"] { unlink(store.repo.path + "/index.sqlite" + suffix) }
        let repo = try Repository(path: store.repo.path)
        _ = try repo.repairIndex()
        let own = try #require(try repo.index.ownAnnouncement(repo: "repo", name: "main"))
        #expect(own.seq == 5 + UInt64(Index.ownSequenceMargin), "past the 9 signed after the record")
        #expect(try repo.newestState()?.own.map(\.seq) == [Int64(own.seq)], "the moved numbers are mirrored")
    }
}

/// gc of a local store checks `state.json` as gc in a bucket checks the state records.
extension BucketStoreTests {
    @Test func localGCRewritesAStateFileOneStepAhead() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 33)
        let (commit, manifest) = try Self.commitFile(store, rng.bytes(1 << 16))
        let sequence = try store.repo.index.stateSequence()
        // Written, then the transaction did not commit: it names a commit the index lacks.
        var ahead = try #require(try store.repo.newestState())
        ahead.sequence += 1
        ahead.heads[0].commit = ObjectID(bytes: rng.bytes(32)).hex
        let path = BucketLayout.localStatePath(store: store.repo.path)
        try FileDescriptor.replaceStoreFile(path, ahead.encoded())
        _ = try store.repo.gc()
        let state = try #require(try store.repo.newestState())
        #expect(state.sequence == sequence + 1 && state.heads.map(\.commit) == [commit.hex], "written again from the index")
        #expect(try Self.contents(store.repo, manifest) == (try Self.contents(Repository(path: store.repo.path), manifest)))
    }

    @Test func localGCRefusesAnIndexBehindItsStateFile() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 34)
        try Self.commitFile(store, rng.bytes(1 << 16))
        let packs = try Self.localPackFiles(store)
        for suffix in ["", "-wal", "-shm"] { unlink(store.repo.path + "/index.sqlite" + suffix) }
        let repo = try Repository(path: store.repo.path)
        #expect(throws: ArkError.self) { try repo.gc() }
        #expect(try Self.localPackFiles(store) == packs, "nothing was deleted")
    }
}

/// Trimming the cache frees the space of the local pack copies it unlinks.
extension BucketStoreTests {
    /// Descriptors of this process open on files under `directory` that were deleted.
    static func deletedOpenFiles(under directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd) else { return nil }
            return target.hasPrefix(directory + "/") && target.hasSuffix(" (deleted)") ? target : nil
        }
    }

    @Test func trimClosesDescriptorsOfThePacksItUnlinks() throws {
        let store = try TestStore(bucket: true, cacheLimit: 3 << 20)
        var rng = SeededRandom(seed: 35)
        let data = rng.bytes(2 << 20)
        let repo = store.repo
        let (_, manifest) = try Self.commitFile(store, data)
        let first = try Self.localPackFiles(store)
        #expect(try Self.contents(repo, manifest) == data)  // opens the local pack copies
        _ = repo.readChunks(try Self.chunkIDs(repo, manifest))
        // The next upload takes the cache over its limit: the older packs' copies go.
        try Self.commitFile(store, rng.bytes(2 << 20), name: "g")
        #expect(Set(first).isDisjoint(with: try Self.localPackFiles(store)))
        #expect(try Self.deletedOpenFiles(under: repo.packDirectory).isEmpty, "no descriptor keeps an unlinked pack's blocks")
        #expect(try Self.contents(repo, manifest) == data, "read from the bucket instead")
    }
}

/// Chunks fetched from peers on demand are a local cache in a bucket store too.
extension BucketStoreTests {
    @Test func onDemandChunksStayLocalInABucketStore() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 36)
        try Self.commitFile(store, rng.bytes(1 << 16))
        let keys = try bucket.keys("")
        let ids = try CacheEvictionTests.cached(store, count: 3, size: 1 << 14, seed: 37)
        #expect(try bucket.keys("") == keys, "nothing uploaded")
        for id in ids {
            let loc = try #require(try store.repo.index.object(id)?.location)
            #expect(try store.repo.index.packInfo(loc.pack)?.remote == false)
            #expect(ObjectHasher.hash(.chunk, try store.repo.readChunk(id)) == id)
        }
        let evicted = try store.repo.evictCache(downTo: 0)
        #expect(evicted.chunks == 3)
        #expect(try store.repo.index.object(ids[0])?.isPresent == false, "evictable as in a local store")
    }
}
