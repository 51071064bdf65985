import Foundation
import Glibc
import Testing

/// Two real `ark` processes on loopback: reconciliation on connect, gossip of new heads, and
/// a mount on one node streaming a file only the other stores.
@Suite(.serialized)
struct SyncProcessTests {
    @Test func coldStartThenGossip() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        try a.dir.write("src/file.txt", "one\n")
        let first = try a.ark("commit", "src", "--repo", "proj", "-m", "first").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        defer { for p in [pa, pb] { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        // Cold start: B learns A's history by reconciliation when they connect.
        #expect(try SyncNode.eventually(20) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") })
        #expect(try b.ark("cat", "proj@a:file.txt").stdout == "one\n")
        // Gossip: a new commit on A reaches B without any command on B.
        try a.dir.write("src/file.txt", "two\n")
        let second = try a.ark("commit", "src", "--repo", "proj", "-m", "second").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(second != first)
        #expect(try SyncNode.eventually(10) { try b.ark("log", "--oneline", "-n", "1").stdout.hasPrefix(String(second.prefix(12))) })
        #expect(try b.ark("cat", "proj@a:file.txt").stdout == "two\n")
        #expect(try b.ark("verify").ok)
        // The oplog on B records the remote head change.
        #expect(try b.ark("oplog").stdout.contains("proj@a"))
        // SIGTERM stops a daemon cleanly.
        kill(pb.processIdentifier, SIGTERM)
        pb.waitUntilExit()
        #expect(pb.terminationStatus == 0)
    }

    @Test(.enabled(if: FuseSupport.shouldRun))
    func mountStreamsAFileOnlyThePeerHas() throws {
        try FuseSupport.require()
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "a-peer", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        var rng = SystemRandomNumberGenerator()
        let big = Data((0..<6_000_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try a.dir.write("src/big.bin", big)
        try a.ark("commit", "src", "--repo", "proj", "-m", "big")
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        defer { kill(pa.processIdentifier, SIGTERM); pa.waitUntilExit() }
        // B syncs metadata only (lazy), then stops.
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        #expect(try SyncNode.eventually(20) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") })
        kill(pb.processIdentifier, SIGTERM)
        pb.waitUntilExit()
        let notLocal = try b.ark("cat", "proj@a:big.bin")
        #expect(!notLocal.ok && notLocal.stderr.contains("not stored locally"))
        // The mount runs the daemon in-process and fetches chunks on demand.
        let mp = b.dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mp, withIntermediateDirectories: true)
        let m = try b.ark("mount", "--daemon", "proj@a", mp)
        try #require(m.ok, "\(m.stderr)")
        defer { _ = try? b.ark("unmount", mp) }
        let read = try #require(FileManager.default.contents(atPath: mp + "/big.bin"))
        #expect(read == big)
        #expect(try sh("getfattr --only-values -n user.ark.local '\(mp)/big.bin'").out == "6000000")
    }

    /// The issue's bound: a commit on A is in B's index and B's mounted history within 1 s.
    /// Three commits; the median must be under 1 s (one slow sample on a loaded machine is not
    /// a failure), and every one must arrive within 10 s.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func commitOnAIsInBsMountWithinASecond() throws {
        try FuseSupport.require()
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        _ = try a.commit("file.txt", "zero\n")
        try a.start()
        defer { a.stop() }
        let mp = b.dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mp, withIntermediateDirectories: true)
        let m = try b.ark("mount", "--daemon", mp)
        try #require(m.ok, "\(m.stderr)")
        defer { _ = try? b.ark("unmount", mp) }
        let head = mp + "/repos/proj/heads/proj@a"
        try #require(SyncNode.eventually(20) { FileManager.default.fileExists(atPath: head) }, "B never saw A's first commit")
        var delays: [Double] = []
        for i in 1...3 {
            let start = Date()  // includes the `ark commit` process itself
            let id = try a.commit("file.txt", "\(i)\n")
            let deadline = start.addingTimeInterval(10)
            while (try? FileManager.default.destinationOfSymbolicLink(atPath: head)) != "../../../commits/\(id)" && Date() < deadline {
                usleep(5_000)
            }
            delays.append(Date().timeIntervalSince(start))
            #expect(try String(contentsOfFile: head + "/file.txt", encoding: .utf8) == "\(i)\n")
        }
        print("commit on A visible in B's mount after \(delays.map { String(format: "%.3f", $0) }) s")
        #expect(delays.allSatisfy { $0 < 10 })
        #expect(delays.sorted()[1] < 1, "median \(delays.sorted()[1]) s")
        #expect(try b.ark("log", "--oneline", "-n", "1").stdout.contains("(proj@a)"))
    }

    @Test func prefetchMakesALazyRepoReadableOffline() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "a-peer", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        var rng = SystemRandomNumberGenerator()
        try a.dir.write("src/one.bin", Data((0..<1_500_000).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        try a.dir.write("src/sub/two.txt", "two\n")
        try a.ark("commit", "src", "--repo", "proj", "-m", "data")
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        #expect(try SyncNode.eventually(20) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") })
        kill(pb.processIdentifier, SIGTERM)
        pb.waitUntilExit()
        #expect(!(try b.ark("cat", "proj@a:sub/two.txt").ok))
        // Only one path first, then everything.
        let some = try b.ark("prefetch", "proj@a", "sub", "--json")
        #expect(some.ok, "\(some.stderr)")
        #expect(try b.ark("cat", "proj@a:sub/two.txt").stdout == "two\n")
        #expect(!(try b.ark("cat", "proj@a:one.bin").ok))
        let all = try b.ark("prefetch", "proj@a")
        #expect(all.ok && all.stdout.contains("fetched"), "\(all.stderr)")
        kill(pa.processIdentifier, SIGTERM)
        pa.waitUntilExit()
        // Offline now: everything reads locally and verifies.
        #expect(try b.ark("cat", "proj@a:one.bin").stdoutData.count == 1_500_000)
        #expect(try b.ark("verify").ok)
        let again = try b.ark("prefetch", "proj@a", "--json")
        #expect(again.ok && again.stdout.contains("\"fetched\":0"))
    }
}
