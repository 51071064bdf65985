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

    /// A lazy repo holds no chunks until they are read: the helper fetches those a clone needs
    /// from the repo's remotes (B's daemon is stopped; the helper dials A itself), with progress
    /// on stderr, and the clone has A's git ids. With A down too, the clone fails with one line
    /// and leaves no directory.
    @Test func lazyRepoFetchesItsChunksFromPeers() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        let big = String(repeating: "lazily fetched line\n", count: 40_000)  // 800 kB: more than one chunk
        _ = try a.commit("hello.txt", "hello, lazily\n", message: "first")
        _ = try a.commit("big.txt", big, message: "second")
        try a.start(); try b.start()
        defer { a.stop(); b.stop() }
        try SyncNode.converge("B has A's head", [a, b]) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") }
        #expect(b.stop() == 0)
        #expect(try !b.verify().complete, "a lazy repo should lack the chunks before the clone")

        let git = try GitRemote()
        let onA = a.dir.file("clone")
        try git.ok(["clone", "-q", "ark::" + a.dir.file("ark.toml") + "#proj", onA], cwd: a.dir.path)
        let dest = b.dir.file("clone")
        let r = try git.run(["clone", "--progress", "ark::" + b.dir.file("ark.toml") + "#proj", dest], cwd: b.dir.path)
        print("[git] clone of a lazy repo: \(r.stderr.split(separator: "\n").filter { $0.contains("ark:") }.joined(separator: " | "))")
        try #require(r.ok, "\(r.stderr)")
        #expect(r.stderr.contains("from peers") && r.stderr.contains("ark: fetched"), "\(r.stderr)")
        #expect(
            try git.ok(["-C", dest, "rev-parse", "origin/peers/a/main"], cwd: "/")
                == git.ok(["-C", onA, "rev-parse", "origin/main"], cwd: "/"))
        #expect(try git.ok(["-C", dest, "show", "origin/peers/a/main:big.txt"], cwd: "/") + "\n" == big)
        #expect(try git.fsck(dest, strict: true).status == 0)
        #expect(try b.verify().complete, "the fetched chunks are kept")

        // A second clone needs nothing from peers, so it works with A down.
        #expect(a.stop() == 0)
        let again = b.dir.file("again")
        let r2 = try git.run(["clone", "--progress", "ark::" + b.dir.file("ark.toml") + "#proj", again], cwd: b.dir.path)
        #expect(r2.ok && !r2.stderr.contains("from peers"), "\(r2.stderr)")
    }

    /// A lazy repo whose only peer is down: one line naming what is missing, no directory left.
    @Test func lazyRepoWithItsPeerDownFailsCleanly() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        _ = try a.commit("hello.txt", "hello, lazily\n", message: "made by ark")
        try a.start(); try b.start()
        defer { a.stop(); b.stop() }
        try SyncNode.converge("B has A's head", [a, b]) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") }
        #expect(b.stop() == 0)
        #expect(a.stop() == 0)
        let git = try GitRemote()
        let dest = b.dir.file("clone")
        let r = try git.run(["clone", "-q", "ark::" + b.dir.file("ark.toml") + "#proj", dest], cwd: b.dir.path)
        print("[git] clone of a lazy repo, peer down: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(!r.ok)
        #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("fatal: ark:") }.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("not stored here") && r.stderr.contains("could be reached"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dest))
    }
}
