import ArkCore
import Foundation
import Glibc
import Testing

/// Trees nesting directories far deeper than anyone writes by hand, built with git plumbing:
/// import refuses one deeper than 4096 levels with one line (as a command and inside the
/// daemon's source watcher, which keeps running), and every command walks the deepest
/// allowed tree without running out of stack.
@Suite(.serialized)
struct DeepTreeTests {
    static let limit = 4096
    static let hostile = 30_000

    @Test func importRefusesATooDeepTreeWithOneLine() throws {
        let dir = TempDir("ark-deep")
        let g = try GitFixture(dir.file("src"))
        try g.write("file.txt", "ok\n")
        let first = try g.commitAll("first", time: 1_700_000_000)
        let deep = try g.commitTree(try g.deepTree(depth: Self.hostile, leaf: "bottom\n"), parents: [first], message: "deep")
        try g.run(["update-ref", "refs/heads/main", deep])

        let r = try ArkProcess.run(["import", g.path, "--repo", "proj"], cwd: dir.path)
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        BadInputTests.expectOneErrorLine(
            r,
            containing: [
                "git commit \(deep): tree nests directories more than \(Self.limit) levels deep (at d/d/d/…/d/d, \(Self.limit + 1) levels)"
            ], "too deep import")
        #expect(r.stdout.isEmpty)
        // Nothing half-imported; once the deep commit is gone the same import succeeds.
        let verify = try ArkProcess.run(["verify"], cwd: dir.path)
        #expect(verify.ok, "\(verify.stdout)\(verify.stderr)")
        try g.run(["update-ref", "refs/heads/main", first])
        let again = try ArkProcess.run(["import", g.path, "--repo", "proj"], cwd: dir.path)
        #expect(again.ok, "\(again.stderr)")
        #expect(try ImportTests.logJSON(["proj"], cwd: dir.path).first?["source_id"] as? String == first)
    }

    /// A subtree imported once, within the limit, then reused deeper in a later commit (and a
    /// later run, so its height is read back from the store): the later commit is refused.
    @Test func reusedSubtreeCannotExceedTheLimit() throws {
        let dir = TempDir("ark-deep")
        let g = try GitFixture(dir.file("src"))
        let inner = try g.deepTree(depth: 3000, leaf: "inner\n")
        let first = try g.commitTree(inner, message: "3000 levels")
        try g.run(["update-ref", "refs/heads/main", first])
        let one = try ArkProcess.run(["import", g.path, "--repo", "proj"], cwd: dir.path)
        #expect(one.ok, "\(one.stderr)")

        let second = try g.commitTree(
            try g.nest(tree: inner, depth: 2000, name: "e"), parents: [first], message: "5000 levels", time: 1_700_000_100)
        try g.run(["update-ref", "refs/heads/main", second])
        let two = try ArkProcess.run(["import", g.path, "--repo", "proj"], cwd: dir.path)
        BadInputTests.expectOneErrorLine(
            two,
            containing: ["git commit \(second): tree nests directories more than \(Self.limit) levels deep (at e/e/e/…/e/e, 5000 levels)"],
            "reused subtree")
        #expect(try ImportTests.logJSON(["proj"], cwd: dir.path).first?["source_id"] as? String == first)
    }

    @Test func sourceWatcherSurvivesATooDeepTree() throws {
        let s = try WatchTests.Setup()
        let deep = try s.git.commitTree(try s.git.deepTree(depth: Self.hostile, leaf: "bottom\n"), parents: [s.first], message: "deep")
        let run = try s.start(["run"], log: "run")
        var stopped = false
        defer { if !stopped { _ = WatchTests.stop(run) } }
        #expect(try WatchTests.eventually(15) { try s.sourceID("proj/main") == s.first } != nil, "\(s.log("run"))")
        try s.git.run(["branch", "deep", deep])
        #expect(WatchTests.eventually(15) { s.log("run").contains("failed") } != nil, "\(s.log("run"))")
        let errors = s.log("run").split(separator: "\n").filter { $0.contains("failed") }
        #expect(errors.count == 1, "\(errors)")
        #expect(
            errors.first?.contains("git commit \(deep): tree nests directories more than \(Self.limit) levels deep") == true, "\(errors)")
        #expect(run.isRunning, "the daemon stopped: \(s.log("run"))")
        // Watching goes on: once the branch is gone, a new commit is imported as usual.
        try s.git.run(["branch", "-D", "deep"])
        try s.git.write("file.txt", "after\n")
        let after = try s.git.commitAll("after the deep tree", time: 1_700_000_300)
        #expect(try WatchTests.eventually(15) { try s.sourceID("proj/main") == after } != nil, "\(s.log("run"))")
        stopped = true
        #expect(WatchTests.stop(run) == 0)
    }

    @Test func everyCommandWalksTheDeepestAllowedTree() throws {
        let dir = TempDir("ark-deep")
        let g = try GitFixture(dir.file("src"))
        let one = try g.commitTree(try g.deepTree(depth: Self.limit, leaf: "one\n"), message: "one")
        let two = try g.commitTree(try g.deepTree(depth: Self.limit, leaf: "two\n"), parents: [one], message: "two", time: 1_700_000_100)
        try g.run(["update-ref", "refs/heads/main", two])
        let deepPath = String(repeating: "d/", count: Self.limit) + "f"

        let imported = try ArkProcess.run(["import", g.path, "--repo", "proj"], cwd: dir.path)
        #expect(imported.ok, "\(imported.stderr)")
        let log = try ImportTests.logJSON(["proj/main"], cwd: dir.path)
        let ids = log.compactMap { $0["id"] as? String }
        try #require(ids.count == 2)

        let verify = try ArkProcess.run(["verify"], cwd: dir.path)
        #expect(verify.ok && verify.stdout.contains("ok"), "\(verify.stdout)\(verify.stderr)")
        let diff = try ArkProcess.run(["diff", ids[1], ids[0]], cwd: dir.path)
        #expect(diff.ok, "\(diff.stderr)")
        #expect(diff.stdout == "M \(deepPath)\n")
        let show = try ArkProcess.run(["show", ids[0]], cwd: dir.path)
        #expect(show.ok && show.stdout.hasSuffix("M \(deepPath)\n"), "\(show.stderr)")
        let ls = try ArkProcess.run(["ls", "-r", "proj/main"], cwd: dir.path)
        #expect(ls.ok, "\(ls.stderr)")
        let lines = ls.stdout.split(separator: "\n")
        #expect(lines.count == Self.limit + 1)
        #expect(lines.last?.hasSuffix(" \(deepPath)") == true)

        // The exported path is longer than PATH_MAX: read it back with find -execdir.
        let export = try ArkProcess.run(["export", "proj/main", "out"], cwd: dir.path)
        #expect(export.ok, "\(export.stderr)")
        let found = try sh("find out -type f -execdir cat {} +", cwd: dir.path)
        #expect(found.status == 0 && found.out == "two\n", "\(found)")
        let paths = try sh("find out -type f", cwd: dir.path)
        #expect(paths.out == "out/\(deepPath)\n")
        // Foundation's removal names whole paths; rm walks relative to each directory.
        try sh("rm -rf out", cwd: dir.path)

        // A corrupt chunk at the bottom: export fails and leaves nothing, however deep.
        let (packPath, offset): (String, UInt64) = try {
            let repo = try Repository(path: dir.file("data"))
            let tree = try repo.commit(try #require(ObjectID(hex: ids[0]))).tree
            let file = try repo.lookup(tree: tree, path: deepPath)
            let chunk = try repo.manifest(try #require(file.id)).id(at: 0)
            let loc = try #require(try repo.index.object(chunk)?.location)
            return (repo.packDirectory + "/" + (try #require(try repo.index.packName(loc.pack))), loc.offset + UInt64(loc.storedLength - 1))
        }()
        try StoreDamage.flipByte(at: offset, in: packPath)
        let failed = try ArkProcess.run(["export", "proj/main", "out"], cwd: dir.path)
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["data", "src"])
    }

    /// `ark commit` of a directory nested as deep as paths allow (names are opened by full
    /// path, so past `PATH_MAX` an entry is skipped with a warning): no crash, every level kept.
    @Test func commitOfADeepDirectory() throws {
        let ws = Workspace()
        let depth = 1500
        try ws.mkdir("src")
        var fd = open(ws.dir.file("src"), O_RDONLY | O_DIRECTORY)
        for _ in 0..<depth {
            try #require(mkdirat(fd, "d", 0o755) == 0)
            let child = openat(fd, "d", O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = child
        }
        let file = openat(fd, "f", O_WRONLY | O_CREAT, 0o644)
        close(file)
        close(fd)
        let r = try ws.ark("commit", "src", "--repo", "proj")
        #expect(r.ok && r.stderr.isEmpty, "exit \(r.status): \(r.stderr.prefix(300))")
        let ls = try ws.ark("ls", "-r", "proj")
        #expect(ls.stdout.split(separator: "\n").count == depth + 1)
        #expect(ls.stdout.hasSuffix(" " + String(repeating: "d/", count: depth) + "f\n"))
    }
}
