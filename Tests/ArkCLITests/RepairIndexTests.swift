import ArkCore
import Foundation
import Glibc
import Testing

/// `ark repair index` rebuilds a lost index from the store's own packs: every object, the
/// commit graph, and the heads from the state record written beside the index.
@Suite(.serialized) struct RepairIndexTests {
    static func removeIndex(_ ws: Workspace) {
        for suffix in ["", "-wal", "-shm"] { unlink(ws.store + "/index.sqlite" + suffix) }
    }

    @Test(.enabled(if: ExternalTool.usable("diff")))
    func repairIndexRestoresALocalStoreWhoseIndexWasDeleted() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 18)
        try ws.write("src/big.bin", rng.bytes(3 << 20))
        try ws.write("src/notes.txt", Array("first\n".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        try ws.write("src/notes.txt", Array("second\n".utf8))
        let second = try ws.ok("commit", "src", "--repo", "proj")
        try ws.write("other/a.txt", Array("other\n".utf8))
        _ = try ws.ok("commit", "other", "--repo", "side")
        let log = try ws.ok("log", "--oneline")
        #expect(try ws.ark("verify").ok)

        Self.removeIndex(ws)
        #expect(try ws.ok("log", "--oneline") == "", "the index is gone: no heads")
        let r = try #require(try ws.json("repair", "index", "--json") as? [String: Any])
        #expect(r["heads"] as? Int == 2, "\(r)")
        #expect(r["commits"] as? Int == 3, "\(r)")
        #expect((r["packs"] as? Int ?? 0) > 0, "\(r)")
        #expect(r["state_sequence"] as? Int != nil, "\(r)")
        #expect(try ws.ok("log", "--oneline") == log)
        let verify = try ws.ark("verify")
        #expect(verify.ok, "\(verify.stdout) \(verify.stderr)")
        #expect(try ws.ark("export", second, "out").ok)
        #expect(try ws.treesDiffer("src", "out") == nil)
        // Running it again finds nothing new, and history continues.
        let again = try #require(try ws.json("repair", "index", "--json") as? [String: Any])
        #expect(again["objects"] as? Int == 0 && again["heads"] as? Int == 0, "\(again)")
        try ws.write("src/notes.txt", Array("third\n".utf8))
        #expect(try ws.ark("commit", "src", "--repo", "proj").ok)
        #expect(try ws.ark("verify").ok)
    }

    /// A commit killed while writing its pack leaves a torn pack; the index is lost after
    /// that. Repair indexes what the torn pack holds up to the tear, restores the head the
    /// killed commit never moved, and verify passes.
    @Test func repairIndexCopesWithAPackTornByAKilledCommit() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 19)
        try ws.write("src/keep.bin", rng.bytes(1 << 20))
        let first = try ws.ok("commit", "src", "--repo", "proj")
        let before = GCTests.packs(ws)
        try ws.write("src/huge.bin", rng.bytes(40 << 20))
        let p = try ArkProcess.start(["commit", "src", "--repo", "proj"], cwd: ws.path)
        let deadline = Date().addingTimeInterval(30)
        while GCTests.packs(ws).subtracting(before).isEmpty && p.isRunning && Date() < deadline { usleep(2000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        try #require(p.terminationReason == .uncaughtSignal, "the commit finished before it could be killed")
        Self.removeIndex(ws)
        let r = try ws.ark("repair", "index")
        #expect(r.ok, "\(r.stdout) \(r.stderr)")
        #expect(try ws.ok("log", "-n", "1", "--oneline").hasPrefix(String(first.prefix(12))))
        let verify = try ws.ark("verify")
        #expect(verify.ok, "\(verify.stdout) \(verify.stderr)")
    }

    @Test func repairIndexSummarisesWhatItRestored() throws {
        let ws = Workspace()
        try ws.write("src/a.txt", Array("a\n".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        Self.removeIndex(ws)
        let out = try ws.ok("repair", "index")
        #expect(out.contains("1 commits recorded, 1 heads restored"), "\(out)")
        #expect(try ws.ark("verify").ok)
    }
}
