import ArkCore
import Foundation
import Glibc
import Testing

/// SIGKILL `ark commit` at random moments: after every kill the store verifies and every head
/// exports identical to the source it was committed from; a final commit completes; gc then
/// removes the packs the killed writers left behind.
///
/// Each attempt rewrites one large file with new content so every commit has real work to do
/// (an unchanged tree would commit in milliseconds from the stat cache).
@Suite(.serialized) struct CrashConsistencyTests {
    static let kills = 20
    static let changing = "large/changing.bin"

    static func makeStaticSource(_ ws: Workspace) throws {
        var rng = SeededRandom(seed: 0xC0FFEE)
        for i in 0..<300 {
            try ws.write("src/d\(i % 15)/sub\(i % 4)/f\(i).txt", rng.bytes(Int(rng.next() % 20_000)), mode: i % 7 == 0 ? 0o755 : 0o644)
        }
        try ws.write("src/large/static.bin", rng.bytes(24 << 20))
        try ws.symlink("src/large/link", to: "static.bin")
        try ws.mkdir("src/empty-dir")
    }

    /// The content of the changing file for attempt `k`.
    static func changingContent(_ k: Int) -> [UInt8] {
        var rng = SeededRandom(seed: 1000 + UInt64(k))
        return rng.bytes(24 << 20 + k * 4099)
    }

    static func packFiles(_ ws: Workspace) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: ws.store + "/packs")) ?? []).filter { $0.hasSuffix(".pack") })
    }

    static func indexedPacks(_ ws: Workspace) throws -> Set<String> {
        Set(try Index(path: ws.store + "/index.sqlite").packs().map(\.name))
    }

    /// Exports the head of `proj` when it moved, and compares it with the source of the
    /// attempt that committed it (named in the commit message).
    static func checkHead(_ ws: Workspace, last: inout String?, label: String) throws {
        let log = try #require(try ws.json("log", "--json") as? [[String: Any]])
        let heads = log.filter { !(($0["heads"] as? [String]) ?? []).isEmpty }
        #expect(heads.count <= 1, "\(label): \(heads.count) heads")
        guard let head = heads.first, let id = head["id"] as? String, id != last else { return }
        let message = try #require(head["message"] as? String)
        let attempt = try #require(Int(message.split(separator: " ").last ?? ""), "\(label): message '\(message)'")
        let out = "export-\(id.prefix(8))"
        let r = try ws.ark("export", id, out)
        #expect(r.ok, "\(label): export of \(id) failed: \(r.stderr)")
        let d = try ExternalTool.run("diff", ["-r", "--no-dereference", "-x", "changing.bin", ws.dir.file("src"), ws.dir.file(out)])
        #expect(d.status == 0, "\(label): export of \(id) differs: \(d.output.prefix(1000))")
        #expect(try ws.read("\(out)/\(changing)") == changingContent(attempt), "\(label): \(changing) of attempt \(attempt) differs")
        try FileManager.default.removeItem(atPath: ws.dir.file(out))
        last = id
    }

    @Test(.enabled(if: ExternalTool.usable("diff")))
    func killedCommits() throws {
        let ws = Workspace()
        try Self.makeStaticSource(ws)
        var rng = SeededRandom(seed: 0x5EED)
        var lastHead: String?
        var killedMidway = 0
        var outcomes: [String] = []
        // Shrinks when a commit finishes before its kill, so kills keep landing mid-commit
        // however fast this machine is.
        var maxDelay = 0.6
        for k in 0..<Self.kills {
            try ws.write("src/\(Self.changing)", Self.changingContent(k))
            let delay = 0.01 + Double(rng.next() % 1000) / 1000 * maxDelay
            let p = try ArkProcess.start(
                ["commit", "src", "--repo", "proj", "-m", "attempt \(k)"], cwd: ws.path,
                env: ["ARK_AUTHOR": "Test User <test@example.org>"])
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let killed = p.terminationReason == .uncaughtSignal
            if killed { killedMidway += 1 } else { maxDelay = max(0.05, delay * 0.8) }
            outcomes.append("\(Int(delay * 1000))ms:\(killed ? "killed" : "exit \(p.terminationStatus)")")
            let label = "attempt \(k), kill after \(Int(delay * 1000)) ms"
            let verify = try ws.ark("verify")
            #expect(verify.status == 0, "\(label): verify failed: \(verify.stdout) \(verify.stderr)")
            try Self.checkHead(ws, last: &lastHead, label: label)
        }
        // Most kills land mid-commit; some commits may finish first.
        #expect(killedMidway >= Self.kills / 2, "only \(killedMidway) of \(Self.kills) commits were killed before finishing: \(outcomes)")

        try ws.write("src/\(Self.changing)", Self.changingContent(Self.kills))
        let final = try ws.ark("commit", "src", "--repo", "proj", "-m", "attempt \(Self.kills)")
        #expect(final.ok, "\(final.stderr)")
        #expect(try ws.ark("verify").status == 0)
        try Self.checkHead(ws, last: &lastHead, label: "final")
        #expect(
            lastHead == (try ws.ok("log", "-n", "1", "--json")).split(separator: "\"").dropFirst().first { $0.count == 64 }.map(String.init)
        )

        // Packs written by killed commits are unknown to the index; gc deletes exactly those.
        let stray = Self.packFiles(ws).subtracting(try Self.indexedPacks(ws))
        try #require(!stray.isEmpty, "no killed commit left a pack behind: \(outcomes)")
        let gc = try #require(try ws.json("gc", "--json") as? [String: Any])
        #expect((gc["packs_deleted"] as? Int ?? 0) >= stray.count, "\(gc)")
        #expect(Self.packFiles(ws) == (try Self.indexedPacks(ws)))
        #expect(Self.packFiles(ws).isDisjoint(with: stray))
        let verify = try ws.ark("verify")
        #expect(verify.status == 0, "\(verify.stdout)")
        lastHead = nil
        try Self.checkHead(ws, last: &lastHead, label: "after gc")
        #expect(lastHead != nil)
    }
}
