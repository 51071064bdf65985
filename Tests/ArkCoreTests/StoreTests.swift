import Foundation
import Testing

@testable import ArkCore

@Suite struct StoreTests {
    /// A 5 MiB random file (several raw chunks), a small compressible file and an empty one.
    static func populate(_ store: TestStore, seed: UInt64 = 5) throws -> (commit: ObjectID, big: ObjectID, data: [UInt8]) {
        var rng = SeededRandom(seed: seed)
        let data = rng.bytes(5 << 20)
        let session = try WriteSession(store.repo)
        let big = try store.putFile(data, in: session, name: "big")
        let text = try store.putFile(Array(String(repeating: "hello ark\n", count: 1000).utf8), in: session, name: "text")
        let empty = try store.putFile([], in: session, name: "empty")
        let tree = try Tree(entries: [
            .file("big", manifest: big.manifest, size: big.size),
            .file("text", manifest: text.manifest, size: text.size, executable: true),
            .file("empty", manifest: empty.manifest, size: 0),
            .symlink("link", target: "big")
        ])
        let treeID = try session.put(.tree, tree.encoded())
        let commit = try store.commit(tree: treeID, session: session)
        return (commit, big.manifest, data)
    }

    static func readAll(_ repo: Repository, _ manifest: ObjectID) throws -> [UInt8] {
        var out: [UInt8] = []
        try FileReader(repo: repo, manifest: manifest).stream { out += $0 }
        return out
    }

    @Test func writeCommitReadBack() throws {
        let store = try TestStore()
        let (commitID, big, data) = try Self.populate(store)
        let commit = try store.repo.commit(commitID)
        let tree = try store.repo.tree(commit.tree)
        #expect(tree.entries.map(\.name) == ["big", "empty", "link", "text"])
        #expect(try Self.readAll(store.repo, big) == data)
        #expect(try Self.readAll(store.repo, tree.entry(named: "empty")!.id!) == [])
        #expect(try Self.readAll(store.repo, tree.entry(named: "text")!.id!) == Array(String(repeating: "hello ark\n", count: 1000).utf8))
        #expect(try store.repo.index.head(HeadRef(repo: "repo", owner: store.repo.identity.endpointID)) == commitID)
        let report = try store.repo.verify(roots: [commitID], allObjects: true)
        #expect(report.ok, "\(report.problems)")
        #expect(report.commits == 1 && report.trees == 1 && report.manifests == 3)
        #expect(report.chunks >= 6)
    }

    @Test func storingAgainAddsNothing() throws {
        let store = try TestStore()
        _ = try Self.populate(store)
        let before = try store.repo.index.objectCount()
        let session = try WriteSession(store.repo)
        var rng = SeededRandom(seed: 5)
        _ = try store.putFile(rng.bytes(5 << 20), in: session, name: "again")
        try session.checkpoint()
        #expect(session.newObjects == 0)
        #expect(try store.repo.index.objectCount() == before)
    }

    @Test func flippedChunkByteIsReportedNotServed() throws {
        let store = try TestStore()
        let (commitID, big, _) = try Self.populate(store)
        let manifest = try store.repo.manifest(big)
        let victim = manifest.id(at: 1)
        #expect(try store.repo.index.object(victim)?.location?.compression == PackFormat.Compression.none)
        try store.corrupt(victim, at: 1000)

        let error = #expect(throws: ArkError.self) { try store.repo.read(victim) }
        #expect(error?.code == .corrupt)
        #expect(error?.description.contains(victim.hex) == true, "\(error?.description ?? "")")
        // Other chunks still read.
        _ = try store.repo.read(manifest.id(at: 0))
        // Streaming the file fails at that chunk and never hands out its bytes.
        var delivered = 0
        let streamError = #expect(throws: ArkError.self) {
            try FileReader(repo: store.repo, manifest: big).stream(parallelism: 1) { delivered += $0.count }
        }
        #expect(streamError?.code == .corrupt)
        #expect(UInt64(delivered) == manifest.end(at: 0))

        let report = try store.repo.verify(roots: [commitID], allObjects: true)
        #expect(!report.ok)
        #expect(report.corruptCount == 1)
        guard case .corrupt(let id, let detail)? = report.problems.first else { Issue.record("no corrupt problem"); return }
        #expect(id == victim)
        #expect(detail.contains(victim.hex))
    }

    @Test func corruptCompressedObjectIsReported() throws {
        let store = try TestStore()
        let (commitID, _, _) = try Self.populate(store)
        let tree = try store.repo.tree(try store.repo.commit(commitID).tree)
        let text = try store.repo.manifest(tree.entry(named: "text")!.id!)
        let chunk = text.id(at: 0)
        #expect(try store.repo.index.object(chunk)?.location?.compression == .zstd)
        let loc = try #require(try store.repo.index.object(chunk)?.location)
        try store.corrupt(chunk, at: UInt64(loc.storedLength / 2))
        let error = #expect(throws: ArkError.self) { try store.repo.read(chunk) }
        #expect(error?.code == .corrupt)
        #expect(error?.description.contains(chunk.hex) == true)
    }

    @Test func truncatedOrMissingPackIsAnErrorNamingTheObject() throws {
        let store = try TestStore()
        let (_, big, _) = try Self.populate(store)
        let last = try store.repo.manifest(big).entries.last!.id
        let loc = try #require(try store.repo.index.object(last)?.location)
        let pack = store.repo.packDirectory + "/" + (try #require(try store.repo.index.packName(loc.pack)))
        chmod(pack, 0o644)
        #expect(truncate(pack, off_t(loc.offset + UInt64(loc.storedLength) - 1)) == 0)
        let short = #expect(throws: ArkError.self) { try store.repo.read(last) }
        #expect(short?.code == .corrupt)
        #expect(short?.description.contains(last.hex) == true, "\(short?.description ?? "")")

        #expect(unlink(pack) == 0)
        let fresh = try Repository(path: store.repo.path)
        let missing = #expect(throws: ArkError.self) { try fresh.read(last) }
        #expect(missing?.code == .missing, "\(missing?.description ?? "")")
        #expect(missing?.message.contains(last.hex) == true, "\(missing?.description ?? "")")
    }

    @Test(arguments: [Int16(1441), -2000])
    func commitThatWouldNotDecodeIsRefused(tz: Int16) throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        let tree = try session.put(.tree, try Tree(entries: []).encoded())
        var sig = TestStore.signature()
        sig.tzOffsetMinutes = tz
        let ref = HeadRef(repo: "repo", owner: store.repo.identity.endpointID)
        for c in [
            Commit(tree: tree, parents: [], author: sig, committer: TestStore.signature(), message: "", node: tree),
            Commit(
                tree: tree, parents: [], author: TestStore.signature(), committer: TestStore.signature(), message: "",
                changeID: "Not-A-Change-ID", node: tree)
        ] {
            let e = #expect(throws: ArkError.self) { _ = try session.commit(c, head: ref, expected: nil, cause: "test") }
            #expect(e?.code == .invalidArgument)
            #expect(try store.repo.index.object(ObjectHasher.hash(.commit, c.encoded())) == nil)
        }
        #expect(try store.repo.index.head(ref) == nil)
        #expect(try store.repo.index.commitCount() == 0)
    }

    @Test func gcRemovesOnlyUnreachableObjects() throws {
        let store = try TestStore()
        let (commitID, big, data) = try Self.populate(store)
        // Objects stored and published but reachable from no head.
        // (The session holds the store lock shared; it must be gone before gc takes it exclusively.)
        func writeOrphans() throws -> (manifest: ObjectID, tree: ObjectID) {
            let session = try WriteSession(store.repo)
            var rng = SeededRandom(seed: 1234)
            let file = try store.putFile(rng.bytes(3 << 20), in: session, name: "orphan")
            let tree = try session.put(.tree, try Tree(entries: [.file("o", manifest: file.manifest, size: file.size)]).encoded())
            try session.checkpoint()
            return (file.manifest, tree)
        }
        let (orphanManifest, orphanTree) = try writeOrphans()
        let orphanChunks = try store.repo.manifest(orphanManifest).entries.map(\.id)
        #expect(try store.repo.index.object(orphanChunks[0])?.isPresent == true)
        // A pack no index row names, as a killed writer leaves behind.
        let stray = store.repo.packDirectory + "/0123456789abcdef01234567.pack"
        try Data(PackFormat.fileMagic + [1, 2, 3]).write(to: URL(fileURLWithPath: stray))

        let report = try store.repo.gc()
        #expect(report.removedObjects == orphanChunks.count + 2)
        #expect(report.packsDeleted >= 1)
        #expect(!FileManager.default.fileExists(atPath: stray))
        for id in orphanChunks + [orphanManifest, orphanTree] {
            #expect(throws: ArkError.self) { try store.repo.read(id) }
        }
        #expect(try Self.readAll(store.repo, big) == data)
        #expect(try store.repo.verify(roots: [commitID], allObjects: true).ok)
        // A second gc finds nothing more.
        #expect(try store.repo.gc().removedObjects == 0)
    }
}
