import Foundation
import GRDB
import Testing

@testable import ArkCore

/// Trees stored as zstd deltas against the previous tree with the same entry names: smaller,
/// read back exactly, chains bounded, bases kept by gc, a corrupt base an error.
@Suite struct TreeDeltaTests {
    /// A directory of `n` entries with random (incompressible) contents, of which the first
    /// `changed` change with `version`. Symlinks, so the tree is complete without other objects.
    static func tree(_ store: TestStore, version: Int, n: Int = 200, changed: Int = 2) throws -> Tree {
        var rng = SeededRandom(seed: 42)
        let stable = (0..<n).map { _ in ObjectID(bytes: rng.bytes(32)).hex }
        return try Tree(
            entries: (0..<n).map { i in
                let target = i < changed ? ObjectHasher.hash(.manifest, Array("v\(version)-\(i)".utf8)).hex : stable[i]
                return .symlink(FileName(String(format: "file-%04d.c", i)), target: target)
            })
    }

    static func compression(_ store: TestStore, _ id: ObjectID) throws -> PackFormat.Compression? {
        try store.repo.index.object(id)?.location?.compression
    }

    @Test func versionsOfADirectoryAreStoredAsSmallDeltas() throws {
        let store = try TestStore()
        var ids: [ObjectID] = []
        let session = try WriteSession(store.repo)
        for v in 0..<40 { ids.append(try session.put(.tree, try Self.tree(store, version: v).encoded())) }
        try session.checkpoint()
        #expect(try Self.compression(store, ids[0]) != .zstdDelta)
        #expect(try Self.compression(store, ids[1]) == .zstdDelta)
        let first = try #require(try store.repo.index.object(ids[0])?.location)
        let second = try #require(try store.repo.index.object(ids[1])?.location)
        #expect(second.storedLength * 10 < first.storedLength, "delta \(second.storedLength) vs whole \(first.storedLength)")
        // Chains are cut at the maximum depth: a whole tree again, then deltas.
        #expect(try Self.compression(store, ids[TreeDeltaBases.maxDepth + 1]) != .zstdDelta)
        // A fresh repository object (no caches) reads every version back exactly.
        let again = try Repository(path: store.repo.path)
        for (v, id) in ids.enumerated() { #expect(try again.tree(id) == (try Self.tree(store, version: v))) }
        // A later session continues the chain from the index.
        let later = try WriteSession(store.repo)
        let next = try later.put(.tree, try Self.tree(store, version: 99).encoded())
        try later.checkpoint()
        #expect(try Self.compression(store, next) == .zstdDelta)
        #expect(try store.repo.verify(roots: [], allObjects: true).problems.isEmpty)
    }

    @Test func gcKeepsTheBaseOfALiveDelta() throws {
        let store = try TestStore()
        let old: ObjectID, new: ObjectID
        do {  // the session holds the store lock shared; gc needs it exclusively
            let session = try WriteSession(store.repo)
            old = try session.put(.tree, try Self.tree(store, version: 1).encoded())
            new = try session.put(.tree, try Self.tree(store, version: 2).encoded())
            #expect(try Self.compression(store, new) == nil)  // not published yet
            let commit = Commit(
                tree: new, parents: [], author: TestStore.signature(), committer: TestStore.signature(),
                message: "only the new tree", node: store.repo.identity.endpointID)
            _ = try session.commit(commit, head: HeadRef(repo: "r", owner: store.repo.identity.endpointID), expected: nil, cause: "test")
            #expect(try Self.compression(store, new) == .zstdDelta)
        }
        let report = try store.repo.gc()
        #expect(try store.repo.index.object(old)?.isPresent == true, "the base is kept")
        #expect(report.reachableObjects >= 2)
        let fresh = try Repository(path: store.repo.path)
        #expect(try fresh.tree(new) == (try Self.tree(store, version: 2)))
    }

    @Test func aCorruptBaseMakesTheDeltaAnError() throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        let base = try session.put(.tree, try Self.tree(store, version: 1).encoded())
        let delta = try session.put(.tree, try Self.tree(store, version: 2).encoded())
        try session.checkpoint()
        let loc = try #require(try store.repo.index.object(base)?.location)
        let name = try #require(try store.repo.index.packName(loc.pack))
        let fd = open(store.repo.packDirectory + "/" + name, O_RDWR)
        try #require(fd >= 0)
        var byte: UInt8 = 0
        pread(fd, &byte, 1, off_t(loc.offset) + 5)
        byte ^= 0x40
        pwrite(fd, &byte, 1, off_t(loc.offset) + 5)
        close(fd)
        let fresh = try Repository(path: store.repo.path)
        #expect { _ = try fresh.tree(delta) } throws: { ($0 as? ArkError)?.code == .corrupt }
    }
}

extension TreeDeltaTests {
    /// In a bucket store whose local packs were evicted, a cached copy of a delta record with
    /// the right size but another base id must not make gc drop (and delete) the real base.
    @Test func gcInABucketReadsDeltaBasesPastTheCache() throws {
        let store = try TestStore(bucket: true, cacheLimit: 1)
        let old: ObjectID, new: ObjectID
        do {
            let session = try WriteSession(store.repo)
            old = try session.put(.tree, try Self.tree(store, version: 1).encoded())
            new = try session.put(.tree, try Self.tree(store, version: 2).encoded())
            let commit = Commit(
                tree: new, parents: [], author: TestStore.signature(), committer: TestStore.signature(),
                message: "only the new tree", node: store.repo.identity.endpointID)
            _ = try session.commit(commit, head: HeadRef(repo: "r", owner: store.repo.identity.endpointID), expected: nil, cause: "test")
        }
        #expect(try Self.compression(store, new) == .zstdDelta)
        store.repo.trimLocalCache()
        // A bad cached copy of the delta record: right size, another base id.
        let loc = try #require(try store.repo.index.object(new)?.location)
        var bad = [UInt8](repeating: 0x5a, count: loc.storedLength)
        bad.replaceSubrange(0..<ObjectID.byteCount, with: ObjectHasher.hash(.tree, Array("elsewhere".utf8)).bytes)
        mkdir(store.repo.recordCache.directory, 0o755)
        try Data(bad).write(to: URL(fileURLWithPath: store.repo.recordCache.directory + "/" + new.hex))
        // A repository with no descriptors open on the unlinked local packs.
        let repo = try Repository(path: store.repo.path, packStorage: store.bucket, cacheLimit: 1)
        // gc's mark reads (and so repairs) the cached copy first; the base lookup on its own
        // must not take the cached copy's word either.
        let live = ObjectIDSet()
        try live.insert(new)
        try repo.addDeltaBases(to: live)
        #expect(try live.contains(old), "the base named by the bucket's copy")
        _ = try repo.gc()
        #expect(try repo.index.object(old)?.isPresent == true, "the real base is kept")
        unlink(repo.recordCache.directory + "/" + new.hex)
        let fresh = try Repository(path: store.repo.path, packStorage: store.bucket)
        #expect(try fresh.tree(new) == (try Self.tree(store, version: 2)))
    }
}
