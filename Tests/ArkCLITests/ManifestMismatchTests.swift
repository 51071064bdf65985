import ArkCore
import Foundation
import Glibc
import Testing

/// A two-level manifest whose parent entry disagrees with its child (a child of the wrong
/// level, or of another length) hashes fine, as a peer could send it: `ark cat` and a read
/// through the mount both refuse it instead of serving bytes the parent does not describe.
@Suite(.serialized)
struct ManifestMismatchTests {
    enum Flaw: String, CaseIterable, Sendable { case length, level }

    /// Writes the flawed file `bad` and a good file `good` into the store at `store`, committed
    /// as the main head of repo `demo`; returns the commit id.
    static func craft(_ flaw: Flaw, store: String) throws -> String {
        let repo = try Repository(path: store)
        let session = try WriteSession(repo)
        let bytes = [UInt8]((0..<100).map { UInt8($0) })
        let chunk = try session.put(.chunk, bytes)
        let child = Manifest(level: 0, entries: [.init(id: chunk, length: 100)])
        let childID = try session.put(.manifest, child.bytes)
        let parent =
            flaw == .length
            ? Manifest(level: 1, entries: [.init(id: childID, length: 150)])
            : Manifest(level: 2, entries: [.init(id: childID, length: 100)])
        let parentID = try session.put(.manifest, parent.bytes)
        let tree = try session.put(
            .tree,
            try Tree(entries: [
                .file("bad", manifest: parentID, size: parent.totalSize),
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
        BadInputTests.expectOneErrorLine(r, containing: ["does not match its parent's entry"], "\(flaw)")
        #expect(r.stdoutData.isEmpty)
        #expect(try ws.ark("cat", "demo:good").stdoutData == Data((0..<100).map { UInt8($0) }))
        #expect(try ws.ark("verify").status == 3)
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
