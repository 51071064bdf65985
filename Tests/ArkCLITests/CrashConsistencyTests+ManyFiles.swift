import ArkCore
import Foundation
import Glibc
import Testing

/// SIGKILL of a commit of many small files after it has published its first batch of index
/// rows: the store verifies, and a re-commit completes and exports identical to the source.
extension CrashConsistencyTests {
    static let manyFiles = 24_000

    @Test(.enabled(if: ExternalTool.usable("diff")))
    func killedManyFilesCommit() throws {
        let ws = Workspace()
        for d in 0..<40 { try ws.mkdir("many/d\(d)") }
        for i in 0..<Self.manyFiles {
            try Data("file \(i)\n".utf8).write(to: URL(fileURLWithPath: ws.dir.file("many/d\(i % 40)/f\(i)")))
        }
        let p = try ArkProcess.start(
            ["commit", "many", "--repo", "many"], cwd: ws.path,
            env: ["ARK_AUTHOR": "Test User <test@example.org>"])
        // Waits for rows the commit published before it finished (a batch, not the whole
        // tree at the end), then kills it.
        var published = 0
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning, Date() < deadline {
            if !Self.packFiles(ws).isEmpty, let n = try? Index(path: ws.store + "/index.sqlite").objectCount().present, n > 0 {
                published = n
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(
            p.terminationReason == .uncaughtSignal, "the commit finished (status \(p.terminationStatus)) before any batch was published")
        #expect(published > 0)
        // Killed before its end: no commit was recorded, yet rows were.
        #expect((try ws.json("log", "--json") as? [Any])?.isEmpty == true, "the kill landed after the commit was recorded")

        let verify = try ws.ark("verify")
        #expect(verify.status == 0, "verify after the kill: \(verify.stdout) \(verify.stderr)")
        let out = try #require(try ws.json("commit", "many", "--repo", "many", "--json") as? [String: Any])
        #expect(out["created"] as? Bool == true, "\(out)")
        #expect(try ws.ark("verify").status == 0)
        #expect(try ws.ark("export", "many", "exported").ok)
        let d = try ExternalTool.run("diff", ["-r", ws.dir.file("many"), ws.dir.file("exported")])
        #expect(d.status == 0, "export differs: \(d.output.prefix(1000))")
    }
}
