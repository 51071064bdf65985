import Foundation
import Testing

@testable import ArkCore

/// A commit to a bucket uploads one batch while it writes the next: the index still learns of
/// a batch only after the bucket confirmed it, and a failed background upload is reported and
/// retried by the next publish.
extension BucketStoreTests {
    /// Every pack the index names is in the bucket (metadata implies data).
    static func indexedPacksAreInTheBucket(_ store: TestStore, _ bucket: DirectoryPackStorage) throws -> Bool {
        try store.repo.index.packs().allSatisfy { try bucket.size(key: "packs/" + $0.name) != nil }
    }

    /// A store in a bucket and a session on it that checkpoints every 256 KiB.
    static func smallBatchSession() throws -> (TestStore, DirectoryPackStorage, WriteSession) {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        let session = try WriteSession(store.repo)
        session.checkpointBytes = 256 << 10
        return (store, bucket, session)
    }

    @Test func aBatchUploadsWhileTheNextIsWrittenAndIsIndexedOnlyOnceConfirmed() throws {
        let (store, bucket, session) = try Self.smallBatchSession()
        var rng = SeededRandom(seed: 31)
        let data = (0..<4).map { _ in rng.bytes(400 << 10) }

        bucket.holdUploads()
        // Released in any case after 60 s: a second checkpoint inside this file would wait for
        // the held upload, and the test must fail, not hang.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { bucket.releaseUploads() }
        let first = try store.putFile(data[0], in: session, name: "a")
        // The batch is sealed and uploading (held by the bucket), and the writer went on.
        #expect(session.uploading != nil)
        #expect(try store.repo.index.objectCount().present == 0, "nothing is indexed before the bucket confirms it")
        #expect(bucket.calls.uploads == 0)
        bucket.releaseUploads()

        var files = [first]
        for (i, bytes) in data.dropFirst().enumerated() {
            files.append(try store.putFile(bytes, in: session, name: "f\(i)"))
            #expect(try store.repo.index.objectCount().present > 0, "earlier batches are indexed at later checkpoints")
            #expect(try Self.indexedPacksAreInTheBucket(store, bucket))
        }
        let tree = try Tree(
            entries: files.enumerated().map { .file(FileName("f\($0.offset)"), manifest: $0.element.manifest, size: $0.element.size) })
        let commit = try store.commit(tree: try session.put(.tree, tree.encoded()), session: session)
        #expect(session.uploading == nil && session.carried.isEmpty)
        #expect(try Self.indexedPacksAreInTheBucket(store, bucket))
        let v = try store.repo.verify(roots: [commit], allObjects: true)
        #expect(v.ok, "\(v.problems)")
        for (file, bytes) in zip(files, data) { #expect(try Self.contents(store.repo, file.manifest) == bytes) }
    }

    @Test func aFailedBackgroundUploadIsReportedAndRetriedByTheNextPublish() throws {
        let (store, bucket, session) = try Self.smallBatchSession()
        var rng = SeededRandom(seed: 32)
        let a = rng.bytes(400 << 10), b = rng.bytes(400 << 10)

        bucket.failUploads(true)
        let fa = try store.putFile(a, in: session, name: "a")
        // The failure surfaces at the next checkpoint, which waits for that upload.
        #expect(throws: ArkError.self) { try store.putFile(b, in: session, name: "b") }
        #expect(try store.repo.index.objectCount().present == 0)
        #expect(try Self.indexedPacksAreInTheBucket(store, bucket))

        bucket.failUploads(false)
        let fb = try store.putFile(b, in: session, name: "b")
        let tree = try Tree(entries: [
            .file("a", manifest: fa.manifest, size: fa.size), .file("b", manifest: fb.manifest, size: fb.size)
        ])
        let commit = try store.commit(tree: try session.put(.tree, tree.encoded()), session: session)
        let v = try store.repo.verify(roots: [commit], allObjects: true)
        #expect(v.ok, "\(v.problems)")
        #expect(try Self.contents(store.repo, fa.manifest) == a)
        #expect(try Self.contents(store.repo, fb.manifest) == b)
    }

    @Test func aPublishAfterAFailedBackgroundUploadThrowsAndTheNextOneRecordsEverything() throws {
        let (store, bucket, session) = try Self.smallBatchSession()
        var rng = SeededRandom(seed: 33)
        let a = rng.bytes(400 << 10)
        bucket.failUploads(true)
        let fa = try store.putFile(a, in: session, name: "a")
        let tree = try session.put(.tree, try Tree(entries: [.file("a", manifest: fa.manifest, size: fa.size)]).encoded())
        #expect(throws: ArkError.self) { try store.commit(tree: tree, session: session) }
        #expect(try store.repo.index.objectCount().present == 0)
        bucket.failUploads(false)
        let commit = try store.commit(tree: tree, session: session)
        let v = try store.repo.verify(roots: [commit], allObjects: true)
        #expect(v.ok, "\(v.problems)")
        #expect(try Self.contents(store.repo, fa.manifest) == a)
    }

    /// A session dropped while its batch uploads does not wait for it (its store lock goes with
    /// the upload); the batch is never indexed, and the next session stores the data again.
    @Test func aSessionDroppedWhileUploadingLeavesTheIndexConsistent() throws {
        let store = try TestStore(bucket: true)
        let bucket = try #require(store.bucket)
        var rng = SeededRandom(seed: 34)
        let a = rng.bytes(400 << 10)
        bucket.holdUploads()
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { bucket.releaseUploads() }
        do {
            let session = try WriteSession(store.repo)
            session.checkpointBytes = 256 << 10
            _ = try store.putFile(a, in: session, name: "a")
            #expect(session.uploading != nil)
        }
        #expect(try store.repo.index.objectCount().present == 0)
        bucket.releaseUploads()
        let (commit, manifest) = try Self.commitFile(store, a, name: "a")
        #expect(try Self.indexedPacksAreInTheBucket(store, bucket))
        let v = try store.repo.verify(roots: [commit], allObjects: true)
        #expect(v.ok, "\(v.problems)")
        #expect(try Self.contents(store.repo, manifest) == a)
    }
}
