import Foundation
import Testing

@testable import ArkCore

/// `repairIndex` on a store whose packs live in a bucket (and on a local one): the index is
/// rebuilt from the packs and the state record alone.
extension BucketStoreTests {
    @Test func repairIndexRestoresEverythingFromTheBucketAlone() throws {
        let store = try TestStore(bucket: true)
        var rng = SeededRandom(seed: 16)
        let a1 = rng.bytes(3 << 20), b1 = rng.bytes(1 << 20)
        let (_, m1) = try Self.commitFile(store, a1)
        let (_, m2) = try Self.commitFile(store, rng.bytes(1 << 20), name: "g")
        let (_, m3) = try Self.commitFile(store, b1, repoID: "other")
        let heads = try store.repo.index.heads()
        let commits = try store.repo.index.commitCount()
        // The local store is lost; only node.key is kept.
        let fresh = store.directory + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.repo.path + "/node.key", toPath: fresh + "/node.key")
        let repo = try Repository(path: fresh, packStorage: store.bucket)
        #expect(try repo.index.heads().isEmpty)
        let report = try repo.repairIndex()
        #expect(report.packsScanned == 0, "record directories were used")
        #expect(report.heads == heads.count)
        #expect(try repo.index.heads().map(\.ref) == heads.map(\.ref))
        #expect(try repo.index.heads().map(\.commit) == heads.map(\.commit))
        #expect(try repo.index.commitCount() == commits)
        let v = try repo.verify(roots: heads.map(\.commit), allObjects: true)
        #expect(v.ok, "\(v.problems)")
        #expect(try Self.contents(repo, m1) == a1)
        #expect(try Self.contents(repo, m3) == b1)
        _ = m2
        // The rebuilt index continues the lost one's state records.
        #expect(try repo.index.stateSequence() == report.stateSequence)
        #expect(try repo.index.stateIdentity().index == (try store.repo.index.stateIdentity().index))
        let again = try repo.repairIndex()
        #expect(again.objects == 0 && again.commits == 0 && again.heads == 0)
    }

    /// A file of a lazy repo: its chunk is known (a pull recorded it) but in no pack. Repair
    /// records it known-but-absent again, so verify passes as it did before the loss.
    @Test func repairIndexRecordsChunksNoPackHoldsAsAbsent() throws {
        let store = try TestStore(bucket: true)
        let chunk = ObjectHasher.hash(.chunk, Array("only a peer has these bytes".utf8))
        try store.repo.index.insertAbsent([(chunk, .chunk, 27)])
        let session = try WriteSession(store.repo)
        let manifest = try session.putManifest([Manifest.Entry(id: chunk, length: 27)])
        let tree = try session.put(.tree, try Tree(entries: [.file("lazy", manifest: manifest, size: 27)]).encoded())
        let commit = try store.commit(tree: tree, session: session)
        #expect(try store.repo.verify(roots: [commit], allObjects: true).absentChunks == 1)
        let fresh = store.directory + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.repo.path + "/node.key", toPath: fresh + "/node.key")
        let repo = try Repository(path: fresh, packStorage: store.bucket)
        let report = try repo.repairIndex()
        #expect(report.absentChunks == 1)
        let v = try repo.verify(roots: [commit], allObjects: true)
        #expect(v.ok && v.absentChunks == 1, "\(v.problems)")
    }

    @Test func repairIndexLeavesOutADamagedCommitAndNamesIt() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 22)
        let (first, _) = try Self.commitFile(store, rng.bytes(1 << 20))
        let (second, _) = try Self.commitFile(store, rng.bytes(1 << 20), name: "g")
        let loc = try #require(try store.repo.index.object(second)?.location)
        try bucket.flip("packs/" + (try #require(try store.repo.index.packName(loc.pack))), at: loc.offset + 3)
        let fresh = store.directory + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.repo.path + "/node.key", toPath: fresh + "/node.key")
        let repo = try Repository(path: fresh, packStorage: bucket)
        let report = try repo.repairIndex()
        #expect(report.damagedCommits.count == 1 && report.damagedCommits[0].hasPrefix(second.short), "\(report.damagedCommits)")
        #expect(report.skippedHeads.count == 1, "the head names the damaged commit")
        #expect(try repo.index.hasCommit(first))
        #expect(try repo.verify(roots: [first], allObjects: false).ok)
    }

    @Test func repairIndexScansPacksWithoutDirectories() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 17)
        let data = rng.bytes(2 << 20)
        let (_, manifest) = try Self.commitFile(store, data)
        for key in try bucket.keys("packs/") where key.hasSuffix(".dir") { try bucket.delete(key: key) }
        let fresh = store.directory + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: store.repo.path + "/node.key", toPath: fresh + "/node.key")
        let repo = try Repository(path: fresh, packStorage: bucket)
        let report = try repo.repairIndex()
        #expect(report.packsScanned == report.packs && report.packs > 0)
        #expect(report.incompletePacks.isEmpty)
        #expect(try Self.contents(repo, manifest) == data)
        #expect(try repo.verify(roots: try repo.index.heads().map(\.commit), allObjects: true).ok)
    }

    @Test func repairIndexRebuildsALocalStoreFromItsPacks() throws {
        let store = try TestStore()
        var rng = SeededRandom(seed: 18)
        let data = rng.bytes(2 << 20)
        let (commit, manifest) = try Self.commitFile(store, data)
        for suffix in ["", "-wal", "-shm"] { unlink(store.repo.path + "/index.sqlite" + suffix) }
        let repo = try Repository(path: store.repo.path)
        #expect(try repo.index.heads().isEmpty)
        let report = try repo.repairIndex()
        #expect(report.stateSequence != nil, "heads came from state.json")
        #expect(try repo.index.heads().map(\.commit) == [commit])
        #expect(try Self.contents(repo, manifest) == data)
        #expect(try repo.verify(roots: [commit], allObjects: true).ok)
    }
}
