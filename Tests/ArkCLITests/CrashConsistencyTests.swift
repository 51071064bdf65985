import ArkCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL `ark commit` at random moments: after every kill the store verifies and every head
/// exports identical to the source; a final commit completes; gc then removes the packs the
/// killed writers left behind.
@Suite(.serialized) struct CrashConsistencyTests {
    static let kills = 20

    static func makeSource(_ ws: Workspace, _ rng: inout SeededRandom) throws {
        for i in 0..<300 {
            try ws.write("src/d\(i % 15)/sub\(i % 4)/f\(i).txt", rng.bytes(Int(rng.next() % 20_000)), mode: i % 7 == 0 ? 0o755 : 0o644)
        }
        try ws.write("src/large/a.bin", rng.bytes(24 << 20))
        try ws.write("src/large/b.bin", rng.bytes(20 << 20 + 12345))
        try ws.symlink("src/large/link", to: "a.bin")
        try ws.mkdir("src/empty-dir")
    }

    static func packFiles(_ ws: Workspace) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: ws.store + "/packs")) ?? []).filter { $0.hasSuffix(".pack") })
    }

    static func indexedPacks(_ ws: Workspace) throws -> Set<String> {
        Set(try Index(path: ws.store + "/index.sqlite").packs().map(\.name))
    }

    /// The head of `proj`, exported and compared with the source when it changed.
    static func checkHead(_ ws: Workspace, last: inout String?, label: String) throws {
        let log = try #require(try ws.json("log", "--json") as? [[String: Any]])
        let heads = log.filter { !(($0["heads"] as? [String]) ?? []).isEmpty }
        #expect(heads.count <= 1, "\(label): \(heads.count) heads")
        guard let head = heads.first?["id"] as? String, head != last else { return }
        let out = "export-\(head.prefix(8))"
        let r = try ws.ark("export", head, out)
        #expect(r.ok, "\(label): export of \(head) failed: \(r.stderr)")
        #expect(try ws.treesDiffer("src", out) == nil, "\(label): export of \(head) differs")
        try FileManager.default.removeItem(atPath: ws.dir.file(out))
        last = head
    }

    @Test(.enabled(if: ExternalTool.usable("diff")))
    func killedCommits() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 0xC0FFEE)
        try Self.makeSource(ws, &rng)
        var lastHead: String?
        var killedMidway = 0
        for k in 0..<Self.kills {
            let delay = 0.02 + Double(rng.next() % 1000) / 1000 * 1.2
            let p = try ArkProcess.start(["commit", "src", "--repo", "proj", "-m", "attempt \(k)"], cwd: ws.path,
                                         env: ["ARK_AUTHOR": "Test User <test@example.org>"])
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal { killedMidway += 1 }
            let label = "kill \(k) after \(Int(delay * 1000)) ms"
            let verify = try ws.ark("verify")
            #expect(verify.status == 0, "\(label): verify failed: \(verify.stdout) \(verify.stderr)")
            try Self.checkHead(ws, last: &lastHead, label: label)
        }
        #expect(killedMidway >= Self.kills / 2, "only \(killedMidway) of \(Self.kills) commits were killed before finishing")

        let final = try ws.ark("commit", "src", "--repo", "proj", "-m", "final")
        #expect(final.ok, "\(final.stderr)")
        #expect(try ws.ark("verify").status == 0)
        lastHead = nil
        try Self.checkHead(ws, last: &lastHead, label: "final")
        #expect(lastHead != nil)

        // Packs written by killed commits are unknown to the index; gc deletes exactly those.
        let stray = Self.packFiles(ws).subtracting(try Self.indexedPacks(ws))
        try #require(!stray.isEmpty, "no killed commit left a pack behind")
        let gc = try #require(try ws.json("gc", "--json") as? [String: Any])
        #expect((gc["packs_deleted"] as? Int ?? 0) >= stray.count, "\(gc)")
        #expect(Self.packFiles(ws) == (try Self.indexedPacks(ws)))
        #expect(Self.packFiles(ws).isDisjoint(with: stray))
        let verify = try ws.ark("verify")
        #expect(verify.status == 0, "\(verify.stdout)")
        lastHead = nil
        try Self.checkHead(ws, last: &lastHead, label: "after gc")
    }
}
