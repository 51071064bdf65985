import Foundation
import Glibc
import Testing

/// git-remote-ark across two nodes (real daemons on loopback, discovery off): a commit made by
/// `ark commit` has one git form, so both nodes give it the same git id, and a pushed branch
/// reaches the peer and clones back there identically.
@Suite(.serialized) struct GitRemoteSyncTests {
    @Test func bothNodesGiveTheSameGitIDs() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        _ = try a.commit("hello.txt", "hello\n", message: "made by ark")
        _ = try a.commit("second.txt", "second\n", message: "second by ark")
        try a.start(); try b.start()
        defer { a.stop(); b.stop() }
        try SyncNode.converge("B has A's head", [a, b]) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") }
        try SyncNode.converge("B has A's chunks", [a, b], within: 30) { try b.verify().complete }

        let git = try GitRemote()
        let onA = a.dir.file("clone"), onB = b.dir.file("clone")
        try git.ok(["clone", "-q", "ark::" + a.dir.file("ark.toml") + "#proj", onA], cwd: a.dir.path)
        try git.ok(["clone", "-q", "ark::" + b.dir.file("ark.toml") + "#proj", onB], cwd: b.dir.path)
        let idOnA = try git.ok(["-C", onA, "rev-parse", "origin/main"], cwd: "/")
        let idOnB = try git.ok(["-C", onB, "rev-parse", "origin/peers/a/main"], cwd: "/")
        #expect(idOnA == idOnB)
        #expect(try git.revList(onA) == git.revList(onB))
        #expect(try git.fsck(onA, strict: true).status == 0)
        let message = try git.ok(["-C", onB, "log", "-1", "--format=%s", "origin/peers/a/main"], cwd: "/")
        #expect(message == "second by ark")
        #expect(try git.ok(["-C", onB, "show", "origin/peers/a/main:hello.txt"], cwd: "/") == "hello")

        // A branch pushed to A reaches B and clones back there with the pushed id.
        try "pushed\n".write(toFile: onA + "/pushed.txt", atomically: true, encoding: .utf8)
        try git.ok(["-C", onA, "add", "pushed.txt"], cwd: "/")
        try git.ok(["-C", onA, "commit", "-q", "-m", "pushed from git"], cwd: "/")
        let pushed = try git.ok(["-C", onA, "rev-parse", "HEAD"], cwd: "/")
        try git.ok(["-C", onA, "push", "-q", "origin", "HEAD:refs/heads/feature"], cwd: "/")
        try SyncNode.converge("B has A's pushed head", [a, b]) { try b.ark("log", "--oneline").stdout.contains("proj/feature@a") }
        try SyncNode.converge("B has the pushed chunks", [a, b], within: 30) { try b.verify().complete }
        let again = b.dir.file("again")
        try git.ok(["clone", "-q", "ark::" + b.dir.file("ark.toml") + "#proj", again], cwd: b.dir.path)
        #expect(try git.ok(["-C", again, "rev-parse", "origin/peers/a/feature"], cwd: "/") == pushed)
    }

    /// A lazy repo holds no chunks until they are read; the helper does not fetch them from
    /// peers (yet): the clone fails with one line and leaves no directory.
    @Test func lazyRepoWithoutChunksFailsCleanly() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        _ = try a.commit("hello.txt", "hello, lazily\n", message: "made by ark")
        try a.start(); try b.start()
        defer { a.stop(); b.stop() }
        try SyncNode.converge("B has A's head", [a, b]) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") }
        let git = try GitRemote()
        let dest = b.dir.file("clone")
        let r = try git.run(["clone", "-q", "ark::" + b.dir.file("ark.toml") + "#proj", dest], cwd: b.dir.path)
        print("[git] clone of a lazy repo: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(!r.ok)
        #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("fatal: ark:") }.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("not stored locally") && r.stderr.contains("ark prefetch"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dest))
    }
}
