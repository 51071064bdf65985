import Foundation
import Synchronization
import Testing

@testable import ArkCore

/// A store whose packs live in a bucket (`PackStorage`, here a directory-backed double):
/// uploads before the index learns of anything, ranged reads after local eviction, verification
/// of what the bucket returns, recovery from the bucket alone, and gc in the bucket.
@Suite struct BucketStoreTests {
    /// Commits one file of `bytes` as the next commit of `repoID`; returns (commit, manifest).
    @discardableResult
    static func commitFile(_ store: TestStore, _ bytes: [UInt8], repoID: String = "repo", name: String = "f") throws -> (
        commit: ObjectID, manifest: ObjectID
    ) {
        let session = try WriteSession(store.repo)
        let file = try store.putFile(bytes, in: session, name: name)
        let tree = try Tree(entries: [.file(FileName(name), manifest: file.manifest, size: file.size)])
        let treeID = try session.put(.tree, tree.encoded())
        let commit = try store.commit(tree: treeID, session: session, repoID: repoID, message: name)
        return (commit, file.manifest)
    }

    static func contents(_ repo: Repository, _ manifest: ObjectID) throws -> [UInt8] {
        var out: [UInt8] = []
        try FileReader(repo: repo, manifest: manifest).stream { out += $0 }
        return out
    }

    static func localPackFiles(_ store: TestStore) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store.repo.packDirectory).filter { $0.hasSuffix(".pack") }
    }

    static func chunkIDs(_ repo: Repository, _ manifest: ObjectID) throws -> [ObjectID] {
        var ids: [ObjectID] = []
        try FileReader(repo: repo, manifest: manifest).forEachChunkEntry { e, _ in ids.append(e.id) }
        return ids
    }

    @Test func packsAreUploadedWithDirectoriesAndStateBeforeTheIndexLearnsOfThem() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 11)
        let (commit, _) = try Self.commitFile(store, rng.bytes(3 << 20))
        let packs = try store.repo.index.packs().map(\.name)
        #expect(!packs.isEmpty)
        for name in packs {
            #expect(try bucket.size(key: "packs/" + name) != nil, "indexed pack \(name) is in the bucket")
            #expect(try bucket.size(key: BucketLayout.directoryKey(name)) != nil, "its record directory too")
        }
        let states = try bucket.keys("state/")
        let newestKey = try #require(states.last)
        let newestBytes = try #require(try bucket.get(key: newestKey))
        let newest = try StoreState(decoding: newestBytes, what: "state")
        #expect(newest.heads.map(\.commit) == [commit.hex])
        #expect(newest.sequence == (try store.repo.index.stateSequence()))
    }

    /// A batch's packs go up `Repository.uploadsInFlight` at a time; one that fails fails the
    /// batch, once the others started beside it have ended.
    @Test func aBatchsPacksUploadSeveralAtATimeAndOneFailureFailsTheBatch() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var packs: [PackWriter.SyncedPack] = []
        for i in 0..<7 {
            let name = String(format: "%024x.pack", i + 1)
            #expect(
                FileManager.default.createFile(
                    atPath: store.repo.packDirectory + "/" + name, contents: Data(repeating: UInt8(i), count: 1000)))
            packs.append(PackWriter.SyncedPack(name: name, size: 1000))
        }
        bucket.uploadsMeet(Repository.uploadsInFlight)
        try store.repo.upload(packs, records: [])
        #expect(bucket.calls.maxUploadsAtOnce == Repository.uploadsInFlight)
        for (i, p) in packs.enumerated() {
            #expect(try bucket.get(key: BucketLayout.packKey(p.name)) == [UInt8](repeating: UInt8(i), count: 1000))
            #expect(try bucket.size(key: BucketLayout.directoryKey(p.name)) != nil)
        }
        bucket.failUploads(endingIn: packs[2].name)
        let e = #expect(throws: ArkError.self) { try store.repo.upload(packs, records: []) }
        #expect(e?.message.contains(packs[2].name) == true)
        #expect(bucket.uploadsRunning == 0, "no upload of the batch still running")
    }

    @Test func aFailedUploadLeavesTheIndexUnchanged() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 12)
        let (first, _) = try Self.commitFile(store, rng.bytes(1 << 20))
        let before = try store.repo.index.objectCount()
        let packsBefore = try store.repo.index.packs().count
        bucket.failUploads(true)
        #expect(throws: ArkError.self) { try Self.commitFile(store, rng.bytes(2 << 20), name: "g") }
        #expect(try store.repo.index.objectCount() == before, "no object of the failed commit is indexed")
        #expect(try store.repo.index.packs().count == packsBefore)
        #expect(try store.repo.index.head(HeadRef(repo: "repo", owner: store.repo.identity.endpointID)) == first)
        // A failed state put (after the packs were confirmed) rolls the head move back as well.
        bucket.failUploads(false)
        bucket.failPuts(true)
        #expect(throws: ArkError.self) { try Self.commitFile(store, rng.bytes(1 << 20), name: "h") }
        bucket.failPuts(false)
        #expect(try store.repo.index.head(HeadRef(repo: "repo", owner: store.repo.identity.endpointID)) == first)
        #expect(try store.repo.verify(roots: [first], allObjects: true).ok)
    }

    /// A session whose upload failed publishes what it wrote when it next publishes: the
    /// chunks it counts as stored are never left out of the index.
    @Test func aSessionRetriesWhatAFailedUploadLeftUnpublished() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 24)
        let data = rng.bytes(2 << 20)
        let session = try WriteSession(store.repo)
        let file = try store.putFile(data, in: session)
        bucket.failUploads(true)
        #expect(throws: ArkError.self) { try session.checkpoint() }
        #expect(try store.repo.index.objectCount().present == 0)
        bucket.failUploads(false)
        let tree = try session.put(.tree, try Tree(entries: [.file("f", manifest: file.manifest, size: file.size)]).encoded())
        let commit = try store.commit(tree: tree, session: session)
        let v = try store.repo.verify(roots: [commit], allObjects: true)
        #expect(v.ok && v.chunks > 0, "\(v.problems)")
        #expect(try Self.contents(store.repo, file.manifest) == data)
    }

    /// The bucket took a state record but the index transaction never committed (a crash, or
    /// an error after the put): the state is one commit ahead, and every pack it needs is
    /// there. The next commit writes the same sequence number over it; recovery from either
    /// moment gives a store that verifies.
    @Test func aStateRecordAheadOfTheIndexIsConsistent() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 21)
        let (first, _) = try Self.commitFile(store, rng.bytes(1 << 20))
        bucket.storeThenFailStatePuts(true)
        #expect(throws: ArkError.self) { try Self.commitFile(store, rng.bytes(1 << 20), name: "g") }
        bucket.storeThenFailStatePuts(false)
        let ref = HeadRef(repo: "repo", owner: store.repo.identity.endpointID)
        #expect(try store.repo.index.head(ref) == first)
        func recovered() throws -> Repository {
            let fresh = store.directory + "/fresh-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: store.repo.path + "/node.key", toPath: fresh + "/node.key")
            let repo = try Repository(path: fresh, packStorage: bucket)
            let report = try repo.repairIndex()
            #expect(report.skippedHeads.isEmpty)
            let heads = try repo.index.heads().map(\.commit)
            #expect(try repo.verify(roots: heads, allObjects: true).ok)
            return repo
        }
        let ahead = try recovered()
        let aheadHead = try #require(try ahead.index.head(ref))
        #expect(aheadHead != first, "the bucket's state names the commit the index never got")
        #expect(try ahead.commit(aheadHead).parents == [first])
        // gc deletes the packs the state ahead names (the index never learnt of them), so it
        // first writes that state record again from the index.
        let gc = try store.repo.gc()
        #expect(gc.packsDeleted > 0)
        #expect(try recovered().index.head(ref) == first)
        // The original index carries on: its next state record is the newest.
        let (third, _) = try Self.commitFile(store, rng.bytes(1 << 20), name: "h")
        #expect(try recovered().index.head(ref) == third)
    }

    @Test func readsAfterEvictionFetchJustTheRecordAndKeepItCached() throws {
        let store = try TestStore(bucket: true, cacheLimit: 1 << 20)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 13)
        let data = rng.bytes(6 << 20)
        let (_, manifest) = try Self.commitFile(store, data)
        store.repo.trimLocalCache()
        #expect(try Self.localPackFiles(store).isEmpty, "uploaded packs left the local cache")
        let chunks = try Self.chunkIDs(store.repo, manifest)
        let one = try #require(try store.repo.index.object(chunks[1])?.location)
        let before = bucket.calls
        let bytes = try store.repo.readChunk(chunks[1])
        #expect(bucket.calls.rangedReads == before.rangedReads + 1)
        #expect(bucket.calls.rangedBytes - before.rangedBytes == one.storedLength, "exactly the record's bytes")
        // Read again: from the local cache, not the bucket.
        #expect(try store.repo.readChunk(chunks[1]) == bytes)
        #expect(bucket.calls.rangedReads == before.rangedReads + 1)
        #expect(try Self.contents(store.repo, manifest) == data)
        let held = store.repo.recordCache.bytesHeld(remotePacks: try store.repo.index.remotePackNames())
        #expect(held <= 1 << 20, "the local cache stays within its limit (\(held) bytes)")
        // The mount's read-ahead path: many chunks at once, all fetched.
        store.repo.trimLocalCache()
        let results = store.repo.readChunks(Array(chunks.prefix(4)))
        for (i, r) in results.enumerated() { #expect(try r.get().count == Int(try store.repo.index.object(chunks[i])!.rawLength)) }
    }

    /// Read-ahead of chunks that lie next to each other in a bucket pack: one ranged read for
    /// the run, every chunk verified; a damaged record in the run fails that chunk alone.
    @Test func readAheadFetchesAdjacentRecordsWithOneRangedRead() throws {
        let store = try TestStore(bucket: true, cacheLimit: 1)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 29)
        let (_, manifest) = try Self.commitFile(store, rng.bytes(6 << 20))
        store.repo.trimLocalCache()
        let chunks = try Self.chunkIDs(store.repo, manifest)
        let locs = try chunks.map { try #require(try store.repo.index.object($0)?.location) }
        // The longest prefix within one coalesced read.
        var n = 1
        while n < chunks.count, locs[n].pack == locs[0].pack,
            locs[n].offset + UInt64(locs[n].storedLength) - locs[0].offset <= UInt64(Repository.maxCoalescedRead)
        {
            n += 1
        }
        try #require(n >= 3, "the test file gives at least three adjacent chunks")
        let expected = try chunks.prefix(n).map { id -> [UInt8] in
            let o = try #require(try store.repo.index.object(id))
            return try store.repo.read(id, kind: .chunk, at: o.location!)
        }
        store.repo.trimLocalCache()
        let before = bucket.calls
        let results = store.repo.readChunks(Array(chunks.prefix(n)))
        #expect(bucket.calls.rangedReads - before.rangedReads == 1, "one ranged read for \(n) adjacent chunks")
        for (i, r) in results.enumerated() { #expect(try r.get() == expected[i]) }

        store.repo.trimLocalCache()
        let packName = try #require(try store.repo.index.packName(locs[1].pack))
        try bucket.flip("packs/" + packName, at: locs[1].offset + 5)
        let again = store.repo.readChunks(Array(chunks.prefix(n)))
        #expect(throws: ArkError.self) { try again[1].get() }
        for i in 0..<n where i != 1 { #expect(try again[i].get() == expected[i]) }
    }

    /// Many threads read (and the cache trims) at once: every read is served, verified.
    @Test func concurrentReadsWhileTheCacheTrims() throws {
        let store = try TestStore(bucket: true, cacheLimit: 2 << 20)
        var rng = SeededRandom(seed: 23)
        let data = rng.bytes(8 << 20)
        let (_, manifest) = try Self.commitFile(store, data)
        store.repo.trimLocalCache()
        let chunks = try Self.chunkIDs(store.repo, manifest)
        let failures = Mutex<[String]>([])
        let repo = store.repo
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            do {
                for i in 0..<chunks.count * 2 {
                    let id = chunks[(i * 7 + t) % chunks.count]
                    _ = try repo.readChunk(id, range: 0..<100)
                }
                var out: [UInt8] = []
                try FileReader(repo: repo, manifest: manifest).stream { out += $0 }
                if out != data { failures.withLock { $0.append("thread \(t): streamed bytes differ") } }
            } catch {
                failures.withLock { $0.append("thread \(t): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
    }

    /// The local copy of an uploaded pack is a cache: a byte flipped in it is caught, the copy
    /// goes, and the bucket's bytes (verified) are served; nothing damaged is.
    @Test func aDamagedLocalCopyOfABucketPackIsReadFromTheBucket() throws {
        let store = try TestStore(bucket: true)
        var rng = SeededRandom(seed: 21)
        let data = rng.bytes(2 << 20)
        let (_, manifest) = try Self.commitFile(store, data)
        let chunks = try Self.chunkIDs(store.repo, manifest)
        let loc = try #require(try store.repo.index.object(chunks[0])?.location)
        let local = store.repo.packDirectory + "/" + (try #require(try store.repo.index.packName(loc.pack)))
        #expect(FileManager.default.fileExists(atPath: local), "the uploaded pack's local copy is kept")
        try store.corrupt(chunks[0], at: 100)
        // verify reads the bucket's copy and says the local one was damaged.
        let report = try store.repo.verify(roots: try store.repo.index.heads().map(\.commit), allObjects: true)
        #expect(report.ok && report.localCopiesReplaced == 1)
        #expect(!FileManager.default.fileExists(atPath: local), "the damaged copy is gone")
        #expect(try chunks.flatMap { try store.repo.readChunk($0) } == data)
        #expect(ObjectHasher.hash(.chunk, try store.repo.readChunk(chunks[0])) == chunks[0])

        // With the bucket's copy damaged too, the error is the bucket's and nothing is served.
        let other = try TestStore(bucket: true)
        let (_, manifest2) = try Self.commitFile(other, data)
        let chunk2 = try Self.chunkIDs(other.repo, manifest2)[0]
        let loc2 = try #require(try other.repo.index.object(chunk2)?.location)
        let name2 = try #require(try other.repo.index.packName(loc2.pack))
        try other.corrupt(chunk2, at: 100)
        try #require(other.bucket).flip("packs/" + name2, at: loc2.offset + 100)
        #expect(throws: ArkError.self) { _ = try other.repo.readChunk(chunk2) }
        #expect(FileManager.default.fileExists(atPath: other.repo.packDirectory + "/" + name2), "kept: the bucket had no good copy")
    }

    @Test func aFlippedByteInTheBucketIsCorruptNamingThePack() throws {
        let store = try TestStore(bucket: true, cacheLimit: 1 << 20)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 14)
        let (_, manifest) = try Self.commitFile(store, rng.bytes(2 << 20))
        store.repo.trimLocalCache()
        let chunk = try Self.chunkIDs(store.repo, manifest)[0]
        let loc = try #require(try store.repo.index.object(chunk)?.location)
        let name = try #require(try store.repo.index.packName(loc.pack))
        try bucket.flip("packs/" + name, at: loc.offset + 100)
        do {
            _ = try store.repo.readChunk(chunk)
            Issue.record("a damaged record was served")
        } catch let e as ArkError {
            #expect(e.code == .corrupt)
            #expect(e.description.contains("packs/" + name), "\(e)")
        }
        #expect(!FileManager.default.fileExists(atPath: store.repo.recordCache.directory + "/" + chunk.hex), "never cached")
        let report = try store.repo.verify(roots: try store.repo.index.heads().map(\.commit), allObjects: true)
        #expect(report.corruptCount == 1)
    }

    /// `verify` reads a bucket store's chunks several at a time: every damaged chunk is still
    /// reported, and every intact one counted.
    @Test func verifyReportsEveryDamagedChunkOfTheBucket() throws {
        let store = try TestStore(bucket: true, cacheLimit: 1 << 20)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 16)
        let (_, manifest) = try Self.commitFile(store, rng.bytes(12 << 20))
        store.repo.trimLocalCache()
        let chunks = try Self.chunkIDs(store.repo, manifest)
        try #require(chunks.count >= 6)
        let damaged = [chunks[1], chunks[3], chunks[chunks.count - 1]]
        for id in damaged {
            let loc = try #require(try store.repo.index.object(id)?.location)
            try bucket.flip("packs/" + (try #require(try store.repo.index.packName(loc.pack))), at: loc.offset + 7)
        }
        try #require(try Self.localPackFiles(store).isEmpty, "every read goes to the bucket")
        let report = try store.repo.verify(roots: try store.repo.index.heads().map(\.commit), allObjects: false)
        #expect(report.corruptCount == damaged.count, "\(report.problems)")
        let named = Set(report.problems.compactMap { if case .corrupt(let id, _) = $0 { id } else { nil } })
        #expect(named == Set(damaged))
        #expect(report.chunks == chunks.count - damaged.count)
    }

    @Test func aDamagedCachedRecordIsFetchedAgain() throws {
        let store = try TestStore(bucket: true, cacheLimit: 1 << 20)
        var rng = SeededRandom(seed: 15)
        let data = rng.bytes(2 << 20)
        let (_, manifest) = try Self.commitFile(store, data)
        store.repo.trimLocalCache()
        let chunk = try Self.chunkIDs(store.repo, manifest)[0]
        let good = try store.repo.readChunk(chunk)
        let path = store.repo.recordCache.directory + "/" + chunk.hex
        var cached = try #require(FileManager.default.contents(atPath: path))
        cached[10] ^= 0xff
        try cached.write(to: URL(fileURLWithPath: path))
        #expect(try store.repo.readChunk(chunk) == good)
        #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == good, "the cache holds the good bytes again")
    }

    @Test func gcDeletesUnreachablePacksFromTheBucketAndNothingElse() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 19)
        let kept = rng.bytes(2 << 20)
        let (_, keptManifest) = try Self.commitFile(store, kept, repoID: "kept")
        let keptPacks = Set(try store.repo.index.packs().map(\.name))
        let (dropped, _) = try Self.commitFile(store, rng.bytes(2 << 20), repoID: "dropped")
        let droppedPacks = Set(try store.repo.index.packs().map(\.name)).subtracting(keptPacks)
        #expect(!droppedPacks.isEmpty)
        // A pack uploaded by a writer that died before publishing: garbage in the bucket.
        bucket.failPuts(true)
        #expect(throws: ArkError.self) { try Self.commitFile(store, rng.bytes(1 << 20), repoID: "dead") }
        bucket.failPuts(false)
        let orphans = Set(try bucket.keys("packs/")).subtracting(
            (keptPacks.union(droppedPacks)).flatMap { ["packs/" + $0, BucketLayout.directoryKey($0)] })
        #expect(!orphans.isEmpty)
        let owner = store.repo.identity.endpointID
        try store.repo.index.setHead(
            HeadRef(repo: "dropped", owner: owner), to: nil, expected: dropped, actor: owner, cause: "test", time: 0)

        let report = try store.repo.gc()
        let left = Set(try bucket.keys("packs/"))
        let indexed = Set(try store.repo.index.packs().map(\.name))
        #expect(
            left == Set(indexed.flatMap { ["packs/" + $0, BucketLayout.directoryKey($0)] }), "the bucket holds exactly the indexed packs")
        #expect(keptPacks.isSubset(of: indexed), "packs with only live objects stay")
        for p in droppedPacks { #expect(!left.contains("packs/" + p)) }
        #expect(left.isDisjoint(with: orphans))
        #expect(report.bucketObjectsDeleted >= droppedPacks.count * 2 + orphans.count)
        store.repo.trimLocalCache()
        let heads = try store.repo.index.heads().map(\.commit)
        #expect(try store.repo.verify(roots: heads, allObjects: true).ok)
        #expect(try Self.contents(store.repo, keptManifest) == kept)
    }

    @Test func gcRefusesAnIndexBehindTheBucket() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 20)
        try Self.commitFile(store, rng.bytes(1 << 20))
        let keys = try bucket.keys("")
        let fresh = store.directory + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.repo.path + "/node.key", toPath: fresh + "/node.key")
        let repo = try Repository(path: fresh, packStorage: bucket)
        #expect(throws: ArkError.self) { try repo.gc() }
        #expect(try bucket.keys("") == keys, "nothing was deleted")
        // Nor may it write state over the bucket's: a commit is refused until the repair.
        let store2 = TestStoreView(repo: repo)
        #expect(throws: ArkError.self) { try store2.commitEmptyTree() }
        #expect(try bucket.keys("state/") == keys.filter { $0.hasPrefix("state/") })
        // The refused commit's pack was uploaded before its index transaction failed: the repair
        // finds that commit, which no head reaches, and keeps it as a recovered head.
        let report = try repo.repairIndex()
        #expect(report.recoveredTips == 1)
        _ = try repo.gc()
        let after = Set(try bucket.keys("packs/"))
        #expect(after.isSuperset(of: keys.filter { $0.hasPrefix("packs/") }), "\(after) vs \(keys)")
        #expect(after.count == keys.filter { $0.hasPrefix("packs/") }.count + 2)
    }
}

/// Commits through a repository that is not a `TestStore`'s own.
struct TestStoreView {
    let repo: Repository
    func commitEmptyTree() throws {
        let session = try WriteSession(repo)
        let tree = try session.put(.tree, try Tree(entries: []).encoded())
        let ref = HeadRef(repo: "repo", owner: repo.identity.endpointID)
        let c = Commit(
            tree: tree, parents: [], author: TestStore.signature(), committer: TestStore.signature(), message: "m",
            node: repo.identity.endpointID)
        _ = try session.commit(c, head: ref, expected: nil, cause: "test")
    }
}
