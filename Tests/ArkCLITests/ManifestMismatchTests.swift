import ArkCore
import Foundation
import Glibc
import Testing

/// A two-level manifest whose parent entry disagrees with its child (a child of the wrong
/// level, or of another length), or a tree entry whose size is not its manifest's, hashes
/// fine, as a peer could send it: `ark cat`, `ark export` and a read through the mount all
/// refuse it instead of serving bytes the parent does not describe, and `ark verify` reports it.
@Suite(.serialized)
struct ManifestMismatchTests {
    enum Flaw: String, CaseIterable, Sendable {
        case length, level, entrySize

        /// What the one error line of `ark cat` says.
        var message: String { self == .entrySize ? "describes 100 bytes, its tree entry 150" : "does not match its parent's entry" }
    }

    /// Writes the flawed file `bad` and a good file `good` into the store at `store`, committed
    /// as the main head of repo `demo`; returns the commit id.
    static func craft(_ flaw: Flaw, store: String) throws -> String {
        let repo = try Repository(path: store)
        let session = try WriteSession(repo)
        let bytes = [UInt8]((0..<100).map { UInt8($0) })
        let chunk = try session.put(.chunk, bytes)
        let child = Manifest(level: 0, entries: [.init(id: chunk, length: 100)])
        let childID = try session.put(.manifest, child.bytes)
        let parent: Manifest
        switch flaw {
        case .length: parent = Manifest(level: 1, entries: [.init(id: childID, length: 150)])
        case .level: parent = Manifest(level: 2, entries: [.init(id: childID, length: 100)])
        case .entrySize: parent = Manifest(level: 1, entries: [.init(id: childID, length: 100)])
        }
        let parentID = try session.put(.manifest, parent.bytes)
        let tree = try session.put(
            .tree,
            try Tree(entries: [
                .file("bad", manifest: parentID, size: flaw == .entrySize ? 150 : parent.totalSize),
                .file("good", manifest: childID, size: 100)
            ]).encoded())
        let sig = Commit.Signature(name: "Test", email: "test@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let commit = Commit(tree: tree, parents: [], author: sig, committer: sig, message: "flawed \(flaw)", node: repo.identity.endpointID)
        return try session.commit(commit, head: HeadRef(repo: "demo", owner: repo.identity.endpointID), expected: nil, cause: "test").hex
    }

    @Test(arguments: Flaw.allCases)
    func catRefuses(_ flaw: Flaw) throws {
        let ws = Workspace()
        _ = try ws.ok("id")
        _ = try Self.craft(flaw, store: ws.store)
        let r = try ws.ark("cat", "demo:bad")
        #expect(r.status == 3, "\(flaw): exit \(r.status): \(r.stderr)")
        BadInputTests.expectOneErrorLine(r, containing: [flaw.message], "\(flaw)")
        #expect(r.stdoutData.isEmpty)
        #expect(try ws.ark("cat", "demo:good").stdoutData == Data((0..<100).map { UInt8($0) }))
        let export = try ws.ark("export", "demo:bad", ws.dir.path + "/out-bad")
        #expect(export.status == 3, "\(flaw): export exit \(export.status): \(export.stderr)")
        #expect(export.stderr.contains(flaw.message), "\(flaw): \(export.stderr)")
        let verify = try ws.ark("verify")
        #expect(verify.status == 3)
        if flaw == .entrySize {
            #expect(verify.stdout.contains("gives 'bad' 150 bytes") || verify.stderr.contains("gives 'bad' 150 bytes"), "\(verify)")
        }
    }

    @Test(.enabled(if: FuseSupport.shouldRun), arguments: Flaw.allCases)
    func mountReadFailsWithEIO(_ flaw: Flaw) throws {
        try FuseSupport.require()
        let f = MountFixture()
        try f.ark("id")
        let commit = try Self.craft(flaw, store: f.store)
        try f.withMount(commit) { mp in
            var st = stat()
            #expect(stat(mp + "/bad", &st) == 0)
            let fd = open(mp + "/bad", O_RDONLY)
            try #require(fd >= 0, "open: \(errno)")
            defer { close(fd) }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buf, buf.count)
            let err = errno
            #expect(n == -1 && err == EIO, "\(flaw): read returned \(n), errno \(err)")
            let good = try Data(contentsOf: URL(fileURLWithPath: mp + "/good"))
            #expect(good == Data((0..<100).map { UInt8($0) }))
        }
    }
}
