import Foundation
import Glibc
import Testing

@Suite struct ImportTests {
    /// A repository with merges, renames, a symlink, executable bits, unicode paths, a gitlink,
    /// an empty tree, a file over 64 MiB, an annotated tag and a commit with a jj change id.
    static func richRepository(_ path: String) throws -> (git: GitFixture, jjCommit: String) {
        let g = try GitFixture(path)
        try g.write("a.txt", "alpha\n")
        try g.write("bin/run.sh", "#!/bin/sh\necho run\n", executable: true)
        try g.write("dé/ñ 文件.txt", "unicode\n")
        try g.write("dir/nested/deep.txt", "deep\n")
        symlink("a.txt", g.path + "/link")
        let c1 = try g.commitAll("first\n\nwith a body\n", time: 1_700_000_000, authorTZ: "+0530", committerTZ: "-0800")
        try g.run(["mv", "a.txt", "renamed.txt"])
        try g.write("dir/nested/deep.txt", "deeper\n")
        try g.write("bin/run.sh", "#!/bin/sh\necho run\n", executable: false)
        try g.commitAll("rename and chmod", time: 1_700_000_100, authorTZ: "+0100")
        try g.run(["checkout", "-q", "-b", "side"])
        try g.write("side.txt", "side\n")
        try g.commitAll("side work", time: 1_700_000_200, committerTZ: "+1245")
        try g.run(["checkout", "-q", "main"])
        try g.write("renamed.txt", "alpha 2\n")
        try g.commitAll("main work", time: 1_700_000_300)
        try g.run(
            ["merge", "-q", "--no-ff", "-m", "merge side", "side"],
            env: ["GIT_AUTHOR_DATE": "1700000400 -0330", "GIT_COMMITTER_DATE": "1700000460 -0330"])
        try g.run(["update-index", "--add", "--cacheinfo", "160000,\(c1),sub"])
        try g.run(
            ["commit", "-q", "-m", "add a gitlink"], env: ["GIT_AUTHOR_DATE": "1700000500 +0000", "GIT_COMMITTER_DATE": "1700000500 +0000"])
        try g.run(["tag", "-a", "v1", "-m", "version 1"], env: ["GIT_COMMITTER_DATE": "1700000500 +0000"])
        // A file over 64 MiB, on its own branch.
        try g.run(["checkout", "-q", "-b", "big"])
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var x: UInt64 = 0x9E3779B97F4A7C15
        for i in block.indices { x ^= x << 13; x ^= x >> 7; x ^= x << 17; block[i] = UInt8(truncatingIfNeeded: x) }
        var big = Data(capacity: 65 << 20 + 12345)
        for i in 0..<65 { big.append(contentsOf: block); big.append(UInt8(i)) }
        big.append(contentsOf: block[0..<12345])
        try g.write("big.bin", big)
        try g.commitAll("big file", time: 1_700_000_600)
        try g.run(["checkout", "-q", "main"])
        // A commit with an empty tree.
        let empty = try g.text(["mktree"])
        let emptyCommit = try g.text(
            ["commit-tree", empty, "-m", "empty tree"],
            env: ["GIT_AUTHOR_DATE": "1700000700 +0000", "GIT_COMMITTER_DATE": "1700000700 +0000"])
        try g.run(["update-ref", "refs/heads/empty", emptyCommit])
        // A commit as jj writes it, with a change-id header.
        let main = try g.text(["rev-parse", "main"]), tree = try g.text(["rev-parse", "main^{tree}"])
        let text =
            "tree \(tree)\nparent \(main)\nauthor Ann Author <ann@example.org> 1700000800 +0200\n"
            + "committer Carl Committer <carl@example.org> 1700000860 +0200\nchange-id zyxwvutsrqponmlkzyxwvutsrqponmlk\n\njj change\n"
        let jj = String(decoding: try g.run(["hash-object", "-t", "commit", "-w", "--stdin"], stdin: Data(text.utf8)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try g.run(["update-ref", "refs/heads/jj", jj])
        return (g, jj)
    }

    static func logJSON(_ args: [String], cwd: String) throws -> [[String: Any]] {
        let r = try ArkProcess.run(["log", "--json"] + args, cwd: cwd)
        guard r.ok else { throw FixtureError("ark log failed: \(r.stderr)") }
        return try #require(JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
    }

    @Test func everyCommitMatchesGit() throws {
        let dir = TempDir("ark-import")
        let (g, jj) = try Self.richRepository(dir.file("src"))
        let r = try ArkProcess.run(["import", g.path, "--repo", "proj", "--json"], cwd: dir.path)
        #expect(r.ok, "\(r.stderr)")

        let all = try Self.logJSON([], cwd: dir.path)
        var gitOf: [String: String] = [:]
        for c in all { gitOf[c["id"] as! String] = c["source_id"] as? String }
        let shas = try g.text(["rev-list", "--all"]).split(separator: "\n").map(String.init)
        #expect(all.count == shas.count)
        #expect(shas.count == 9)

        for sha in shas {
            let arkDir = dir.file("ark-\(sha)"), gitDir = dir.file("git-\(sha)")
            let e = try ArkProcess.run(["export", sha, arkDir], cwd: dir.path)
            #expect(e.ok, "export \(sha): \(e.stderr)")
            try g.archive(sha, to: gitDir)
            #expect(try DirectoryListing.differences(arkDir, gitDir) == [], "commit \(sha)")
            try? FileManager.default.removeItem(atPath: arkDir)
            try? FileManager.default.removeItem(atPath: gitDir)

            let c = try #require(try Self.logJSON(["-n", "1", sha], cwd: dir.path).first)
            #expect(c["source_id"] as? String == sha)
            let info = String(decoding: try g.run(["log", "-1", "--format=%P%n%aI%n%cI%n%an%n%ae", sha]), as: UTF8.self)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let parents = (c["parents"] as! [String]).map { gitOf[$0] ?? "?" }
            #expect(parents == info[0].split(separator: " ").map(String.init), "parents of \(sha)")
            #expect(c["author_time"] as? String == info[1])
            #expect(c["committer_time"] as? String == info[2])
            #expect(c["author"] as? String == info[3])
            #expect(c["author_email"] as? String == info[4])
            let raw = String(decoding: try g.run(["cat-file", "commit", sha]), as: UTF8.self)
            let message = String(raw[raw.range(of: "\n\n")!.upperBound...])
            #expect(c["message"] as? String == message, "message of \(sha)")
            #expect((c["change_id"] as? String) == (sha == jj ? "zyxwvutsrqponmlkzyxwvutsrqponmlk" : nil))
        }

        // Revisions: a git id prefix, a change id prefix, heads for branches and tags.
        let byPrefix = try ArkProcess.run(["cat", String(jj.prefix(8)) + ":side.txt"], cwd: dir.path)
        #expect(byPrefix.ok && byPrefix.stdout == "side\n", "\(byPrefix.stderr)")
        let byChange = try ArkProcess.run(["cat", "zyxwvut:renamed.txt"], cwd: dir.path)
        #expect(byChange.stdout == "alpha 2\n", "\(byChange.stderr)")
        for head in ["proj/main", "proj/side", "proj/big", "proj/jj", "proj/empty", "proj/tags/v1", "proj"] {
            let s = try ArkProcess.run(["show", head], cwd: dir.path)
            #expect(s.ok, "\(head): \(s.stderr)")
        }
        let v = try ArkProcess.run(["verify"], cwd: dir.path)
        #expect(v.ok, "\(v.stderr)")
    }

    @Test func secondImportConvertsOnlyNewCommits() throws {
        let dir = TempDir("ark-import")
        let g = try GitFixture(dir.file("src"))
        for i in 0..<5 {
            try g.write("f\(i % 2).txt", "version \(i)\n")
            try g.commitAll("c\(i)", time: 1_700_000_000 + i * 100)
        }
        func importStats() throws -> [String: Any] {
            let r = try ArkProcess.run(["import", g.path, "--repo", "proj", "--json"], cwd: dir.path)
            #expect(r.ok, "\(r.stderr)")
            let obj = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
            return try #require(obj["stats"] as? [String: Any])
        }
        #expect(try importStats()["commits_imported"] as? Int == 5)
        #expect(try importStats()["commits_imported"] as? Int == 0)
        for i in 5..<8 {
            try g.write("f\(i % 2).txt", "version \(i)\n")
            try g.commitAll("c\(i)", time: 1_700_000_000 + i * 100)
        }
        let s = try importStats()
        #expect(s["commits_imported"] as? Int == 3)
        // Each new commit changed one file: one blob and one tree each, nothing re-converted.
        #expect(s["blobs_converted"] as? Int == 3)
        #expect(s["trees_converted"] as? Int == 3)
        let log = try Self.logJSON(["proj/main"], cwd: dir.path)
        #expect(log.count == 8)
        #expect(log.first?["source_id"] as? String == (try g.text(["rev-parse", "main"])))
    }

    /// A linear history of `count` commits over 50 files, written with `git fast-import`.
    static func syntheticRepository(_ path: String, commits count: Int) throws -> GitFixture {
        let g = try GitFixture(path)
        var stream = ""
        for i in 1...count {
            let msg = "commit \(i)\n"
            let content = String(repeating: "line \(i) of file \(i % 50)\n", count: 1 + i % 7)
            stream += "commit refs/heads/main\nmark :\(i)\n"
            stream += "author A <a@example.org> \(1_700_000_000 + i) +0000\ncommitter A <a@example.org> \(1_700_000_000 + i) +0000\n"
            stream += "data \(msg.utf8.count)\n\(msg)"
            if i > 1 { stream += "from :\(i - 1)\n" }
            stream += "M 100644 inline d\(i % 5)/f\(i % 50).txt\ndata \(content.utf8.count)\n\(content)\n"
        }
        try g.run(["fast-import", "--quiet"], stdin: Data(stream.utf8))
        return g
    }

    @Test func killedImportResumes() throws {
        let dir = TempDir("ark-import")
        let g = try Self.syntheticRepository(dir.file("src"), commits: 4000)
        let shas = try g.text(["rev-list", "--reverse", "main"]).split(separator: "\n").map(String.init)
        let p = try ArkProcess.start(["import", g.path, "--repo", "proj", "--batch-commits", "10"], cwd: dir.path)
        var sawProgress = false
        for _ in 0..<600 where p.isRunning {
            // Kill at the first published batch: far from the end of a 4,000-commit history.
            if try ArkProcess.run(["show", shas[10]], cwd: dir.path).ok { sawProgress = true; break }
            usleep(5_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(sawProgress)
        #expect(p.terminationReason == .uncaughtSignal, "the import finished before it could be killed")
        #expect(!(try ArkProcess.run(["show", shas.last!], cwd: dir.path).ok))

        let r = try ArkProcess.run(["import", g.path, "--repo", "proj", "--json"], cwd: dir.path)
        #expect(r.ok, "\(r.stderr)")
        let v = try ArkProcess.run(["verify"], cwd: dir.path)
        #expect(v.ok, "\(v.stderr)")
        #expect(try Self.logJSON(["proj/main"], cwd: dir.path).count == 4000)
        let e = try ArkProcess.run(["export", "proj/main", dir.file("ark")], cwd: dir.path)
        #expect(e.ok, "\(e.stderr)")
        try g.archive("main", to: dir.file("git"))
        #expect(try DirectoryListing.differences(dir.file("ark"), dir.file("git")) == [])
    }

    @Test func fiveThousandCommits() throws {
        let dir = TempDir("ark-import")
        let g = try Self.syntheticRepository(dir.file("src"), commits: 5000)
        let start = Date()
        let r = try ArkProcess.run(["import", g.path, "--repo", "proj", "--json"], cwd: dir.path)
        let seconds = Date().timeIntervalSince(start)
        #expect(r.ok, "\(r.stderr)")
        #expect(seconds < 300, "import of 5,000 commits took \(seconds) s")
        #expect(try Self.logJSON(["proj/main", "-n", "6000"], cwd: dir.path).count == 5000)
        let again = Date()
        let r2 = try ArkProcess.run(["import", g.path, "--repo", "proj", "--json"], cwd: dir.path)
        #expect(r2.ok)
        #expect(Date().timeIntervalSince(again) < max(2, seconds * 0.2))
    }
}
