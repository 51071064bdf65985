import ArkCore
import Foundation
import Glibc
import Testing

/// Heads only move forward, so garbage comes from writers that die: a commit killed after it
/// started its pack leaves bytes no index row names. gc removes them and nothing else.
@Suite(.serialized) struct GCTests {
    static func packs(_ ws: Workspace) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: ws.store + "/packs")) ?? []).filter { $0.hasSuffix(".pack") })
    }

    @Test(.enabled(if: ExternalTool.usable("diff")))
    func gcRemovesWhatAKilledCommitWrote() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 8)
        try ws.write("src/keep.bin", rng.bytes(1 << 20))
        try ws.write("src/notes.txt", Array("notes\n".utf8))
        let first = try ws.ok("commit", "src", "--repo", "proj")
        let clean = try #require(try ws.json("gc", "--json") as? [String: Any])
        #expect(clean["removed_objects"] as? Int == 0 && clean["packs_deleted"] as? Int == 0, "\(clean)")
        let before = Self.packs(ws)

        try ws.write("src/huge.bin", rng.bytes(40 << 20))
        let p = try ArkProcess.start(["commit", "src", "--repo", "proj"], cwd: ws.path)
        // Kill it as soon as its pack file exists: it has started writing but cannot be done.
        let deadline = Date().addingTimeInterval(30)
        while Self.packs(ws).subtracting(before).isEmpty && p.isRunning && Date() < deadline { usleep(2000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        try #require(p.terminationReason == .uncaughtSignal, "the commit finished before it could be killed")
        let stray = Self.packs(ws).subtracting(before)
        #expect(stray.count == 1)
        #expect(try ws.ok("log", "-n", "1", "--oneline").hasPrefix(String(first.prefix(12))))
        #expect(try ws.ark("verify").ok)

        let gc = try #require(try ws.json("gc", "--json") as? [String: Any])
        #expect(gc["packs_deleted"] as? Int == 1, "\(gc)")
        #expect(gc["removed_objects"] as? Int == 0, "\(gc)")
        #expect(gc["removed_commits"] as? Int == 0, "\(gc)")
        #expect(Self.packs(ws) == before)
        #expect(try ws.ark("verify").ok)
        try FileManager.default.removeItem(atPath: ws.dir.file("src/huge.bin"))
        #expect(try ws.ark("export", first, "out").ok)
        #expect(try ws.treesDiffer("src", "out") == nil)
        // A commit after gc stores the file again and completes.
        try ws.write("src/huge.bin", rng.bytes(2 << 20))
        let second = try ws.ok("commit", "src", "--repo", "proj")
        #expect(second != first)
        #expect(try ws.ark("verify").ok)
    }

    /// gc started while a commit is writing waits for it, and deletes none of its data.
    @Test(.enabled(if: ExternalTool.usable("diff")))
    func gcWaitsForARunningCommit() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 81)
        try ws.write("src/small", Array("s".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        let before = Self.packs(ws)
        try ws.write("src/huge.bin", rng.bytes(40 << 20))
        let p = try ArkProcess.start(["commit", "src", "--repo", "proj"], cwd: ws.path)
        let deadline = Date().addingTimeInterval(30)
        while Self.packs(ws).subtracting(before).isEmpty && p.isRunning && Date() < deadline { usleep(2000) }
        // Freeze the writer mid-commit: gc must block on the store lock until it is done.
        kill(p.processIdentifier, SIGSTOP)
        try #require(p.isRunning, "the commit finished before gc could start")
        let gc = try ArkProcess.start(["gc"], cwd: ws.path)
        Thread.sleep(forTimeInterval: 0.7)
        #expect(gc.isRunning, "gc did not wait for the running commit")
        kill(p.processIdentifier, SIGCONT)
        p.waitUntilExit()
        gc.waitUntilExit()
        #expect(p.terminationStatus == 0 && p.terminationReason == .exit)
        #expect(gc.terminationStatus == 0)
        #expect((try ws.json("log", "--json") as? [Any])?.count == 2)
        #expect(try ws.ark("verify").ok)
        #expect(try ws.ark("export", "proj", "out").ok)
        #expect(try ws.treesDiffer("src", "out") == nil)
    }

    @Test func commitSkipsTheStoreAndSpecialFiles() throws {
        let ws = Workspace()
        try ws.write("f.txt", Array("x".utf8))
        try #require(mkfifo(ws.dir.file("fifo"), 0o644) == 0)
        let r = try ws.ark("commit", ".", "--repo", "proj")
        // The commit is made; the fifo is named and the exit status says something was left out.
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("it is the store itself"))
        #expect(r.stderr.contains("fifo: a fifo is not stored"))
        let items = try #require(try ws.json("ls", "--json", "proj") as? [[String: Any]])
        #expect(items.map { $0["path"] as? String } == ["f.txt"])
    }
}
