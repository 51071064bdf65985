import Foundation
import Glibc
import Testing

/// `source =` in ark.toml: `ark run` and `ark mount` import new commits of a git repository
/// (and a repository laid out as jj keeps it) as they are made, without any ark command.
/// jj itself is not needed: its layout (.jj/repo/store/git, op_heads) is built by hand.
@Suite(.serialized)
struct WatchTests {
    /// A work dir with a git repository `src` (one commit on main) named as the source of repo `proj`.
    final class Setup: Sendable {
        let dir = TempDir("ark-watch")
        let git: GitFixture
        let first: String

        init(extraToml: String = "", source: String = "src") throws {
            git = try GitFixture(dir.file("src"))
            try git.write("file.txt", "one\n")
            first = try git.commitAll("first", time: 1_700_000_000)
            try dir.write(
                "ark.toml",
                """
                [net]
                listen = "127.0.0.1:0"
                discovery = false
                \(extraToml)
                [[repos]]
                id = "proj"
                source = "\(source)"
                """)
            try Self.createStore(dir.path)
        }

        /// Creates the store before any daemon starts, so the test's own `ark` calls never race
        /// a daemon creating it.
        static func createStore(_ dir: String) throws {
            let r = try ArkProcess.run(["id"], cwd: dir)
            guard r.ok else { throw FixtureError("ark id failed: \(r.stderr)") }
        }

        @discardableResult
        func ark(_ args: String...) throws -> ArkProcess.Result { try ArkProcess.run(args, cwd: dir.path) }

        /// The git commit id behind `rev` in the store, if it resolves.
        func sourceID(_ rev: String) throws -> String? {
            let r = try ArkProcess.run(["log", "--json", "-n", "1", rev], cwd: dir.path)
            guard r.ok, let list = try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]] else { return nil }
            return list.first?["source_id"] as? String
        }

        /// Starts `ark args...` with its stderr in `<dir>/<name>.log`.
        func start(_ args: [String], log name: String) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ArkProcess.binary)
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
            _ = FileManager.default.createFile(atPath: dir.file("\(name).log"), contents: nil)
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("\(name).log")))
            try p.run()
            return p
        }

        func log(_ name: String) -> String { (try? String(contentsOfFile: dir.file("\(name).log"), encoding: .utf8)) ?? "" }
    }

    static func stop(_ p: Process) -> Int32 {
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Waits up to `seconds` for `condition`, checking every 20 ms; the time it took, or nil.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if try condition() { return Date().timeIntervalSince(start) }
            usleep(20_000)
        }
        return try condition() ? Date().timeIntervalSince(start) : nil
    }

    @Test func commitsAndBranchesAppearWhileRunning() throws {
        let s = try Setup()
        let run = try s.start(["run"], log: "run")
        var stopped = false
        defer { if !stopped { _ = Self.stop(run) } }
        // The startup import brings in the commit made before.
        #expect(try Self.eventually(15) { try s.sourceID("proj/main") == s.first } != nil, "\(s.log("run"))")
        #expect(s.log("run").contains("watching 1 source(s)"))

        // A new commit shows up in `ark log` within 5 s, with no ark command run.
        try s.git.write("file.txt", "two\n")
        let second = try s.git.commitAll("second", time: 1_700_000_100)
        let latency = try Self.eventually(5) { try s.sourceID("proj/main") == second }
        #expect(latency != nil, "\(s.log("run"))")
        if let latency { print("watch: git commit to ark log \(Int(latency * 1000)) ms") }
        #expect(try s.ark("cat", "proj/main:file.txt").stdout == "two\n")
        #expect(try s.sourceID("proj") == second)  // HEAD: the repo's main head

        // New branches become heads, also in a directory under refs/heads that did not exist
        // when the watch started, and a second branch in that new directory.
        try s.git.run(["branch", "feature"])
        #expect(try Self.eventually(5) { try s.sourceID("proj/feature") == second } != nil)
        try s.git.run(["branch", "topic/a", s.first])
        #expect(try Self.eventually(5) { try s.sourceID("proj/topic/a") == s.first } != nil)
        try s.git.run(["branch", "topic/b"])
        #expect(try Self.eventually(5) { try s.sourceID("proj/topic/b") == second } != nil, "\(s.log("run"))")
        // A deleted branch goes away; a packed ref still counts.
        try s.git.run(["branch", "-D", "feature"])
        #expect(try Self.eventually(5) { try s.sourceID("proj/feature") == nil } != nil)
        try s.git.run(["pack-refs", "--all"])
        try s.git.run(["update-ref", "refs/heads/topic/a", second])
        #expect(try Self.eventually(5) { try s.sourceID("proj/topic/a") == second } != nil)

        // The oplog says where the head moves came from, and the store verifies.
        #expect(try s.ark("oplog").stdout.contains("import \(s.git.path)"))
        #expect(try s.ark("verify").ok)
        stopped = true
        #expect(Self.stop(run) == 0, "\(s.log("run"))")
    }

    @Test func catchesUpOnStartWithWhatHappenedWhileStopped() throws {
        let s = try Setup()
        let one = try s.start(["run"], log: "one")
        #expect(try Self.eventually(15) { try s.sourceID("proj/main") == s.first } != nil, "\(s.log("one"))")
        #expect(Self.stop(one) == 0)
        // Made while no ark process runs.
        try s.git.write("later.txt", "later\n")
        let later = try s.git.commitAll("while stopped", time: 1_700_000_200)
        try s.git.run(["tag", "v2"])
        #expect(try s.sourceID("proj/main") == s.first)
        let two = try s.start(["run"], log: "two")
        defer { _ = Self.stop(two) }
        #expect(try Self.eventually(15) { try s.sourceID("proj/main") == later } != nil, "\(s.log("two"))")
        #expect(try s.sourceID("proj/tags/v2") == later)
        #expect(try s.ark("cat", "proj/main:later.txt").stdout == "later\n")
    }

    @Test func aFailedImportLogsOneLineAndWatchingGoesOn() throws {
        let s = try Setup()
        let run = try s.start(["run"], log: "run")
        var stopped = false
        defer { if !stopped { _ = Self.stop(run) } }
        #expect(try Self.eventually(15) { try s.sourceID("proj/main") == s.first } != nil, "\(s.log("run"))")
        // A branch whose commit ark cannot take: a message over the 1 MiB limit.
        let tree = try s.git.text(["rev-parse", "main^{tree}"])
        let huge = String(
            decoding: try s.git.run(["commit-tree", tree, "-F", "-"], stdin: Data(String(repeating: "x", count: (1 << 20) + 10).utf8)),
            as: UTF8.self
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        try s.git.run(["branch", "huge", huge])
        #expect(Self.eventually(5) { s.log("run").contains("failed") } != nil)
        let errors = s.log("run").split(separator: "\n").filter { $0.contains("failed") }
        #expect(errors.count == 1)
        #expect(
            errors.first?.contains("import of \(s.git.path) into proj failed: git commit \(huge): message longer than") == true, "\(errors)"
        )
        // Once the branch is gone, the next change imports as usual.
        try s.git.run(["branch", "-D", "huge"])
        try s.git.write("file.txt", "after\n")
        let after = try s.git.commitAll("after the failure", time: 1_700_000_300)
        #expect(try Self.eventually(5) { try s.sourceID("proj/main") == after } != nil, "\(s.log("run"))")
        stopped = true
        #expect(Self.stop(run) == 0)
    }

    /// SIGTERM during the startup import: the daemon stops promptly and cleanly, keeps the
    /// commits imported so far (heads unmoved), and the next start finishes the import.
    @Test func shutdownDuringAnImportResumesOnNextStart() throws {
        let dir = TempDir("ark-watch-stop")
        let g = try ImportTests.syntheticRepository(dir.file("src"), commits: 3000)
        let shas = try g.text(["rev-list", "--reverse", "main"]).split(separator: "\n").map(String.init)
        try dir.write("ark.toml", "[net]\nlisten = \"127.0.0.1:0\"\ndiscovery = false\n[[repos]]\nid = \"proj\"\nsource = \"src\"\n")
        try Setup.createStore(dir.path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ArkProcess.binary)
        p.arguments = ["run"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        p.environment = ProcessInfo.processInfo.environment.merging(["ARK_LOG": "info"]) { $1 }
        _ = FileManager.default.createFile(atPath: dir.file("run.log"), contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("run.log")))
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = { (try? String(contentsOfFile: dir.file("run.log"), encoding: .utf8)) ?? "" }
        #expect(Self.eventually(10) { log().contains("watching \(g.path)") } != nil)
        usleep(1_500_000)  // into the import, far from its end
        let stopAt = Date()
        #expect(Self.stop(p) == 0)
        #expect(Date().timeIntervalSince(stopAt) < 10)
        #expect(log().contains("import of \(g.path) stopped for shutdown"), "\(log())")
        #expect(!(try ArkProcess.run(["log", "proj/main"], cwd: dir.path).ok))  // no head moved
        #expect(try ArkProcess.run(["show", shas[0]], cwd: dir.path).ok)  // but the first commits are kept

        let again = try ArkProcess.start(["run"], cwd: dir.path)
        defer { _ = Self.stop(again) }
        let full = { () throws -> Bool in
            let r = try ArkProcess.run(["log", "--json", "-n", "5000", "proj/main"], cwd: dir.path)
            guard r.ok else { return false }
            return (try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])?.count == 3000
        }
        #expect(try Self.eventually(120, full) != nil)
        #expect(try ArkProcess.run(["verify"], cwd: dir.path).ok)
    }

    /// A repository laid out as jj keeps it (not colocated): the git store under
    /// .jj/repo/store/git, operation heads under .jj/repo/op_heads/heads.
    @Test func jjLayout() throws {
        let dir = TempDir("ark-watch-jj")
        let work = try GitFixture(dir.file("work"))
        try work.write("a.txt", "a\n")
        let c1 = try work.commitAll("one", time: 1_700_000_000)
        let store = dir.file("jj/.jj/repo/store")
        try FileManager.default.createDirectory(atPath: dir.file("jj/.jj/repo/op_heads/heads"), withIntermediateDirectories: true)
        try GitFixture.run(["init", "-q", "--bare", "-b", "main", store + "/git"])
        try dir.write("jj/.jj/repo/store/git_target", "git")
        try work.run(["push", "-q", store + "/git", "main"])
        try dir.write(
            "ark.toml",
            """
            [net]
            listen = "127.0.0.1:0"
            discovery = false
            [[repos]]
            id = "jp"
            source = "jj"
            """)
        try Setup.createStore(dir.path)
        let sourceID = { (rev: String) throws -> String? in
            let r = try ArkProcess.run(["log", "--json", "-n", "1", rev], cwd: dir.path)
            guard r.ok else { return nil }
            return (try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])?.first?["source_id"] as? String
        }
        let run = try ArkProcess.start(["run"], cwd: dir.path)
        defer { _ = Self.stop(run) }
        #expect(try Self.eventually(15) { try sourceID("jp/main") == c1 } != nil)
        // jj moves a bookmark: it exports the ref to its git store and writes a new operation head.
        try work.write("a.txt", "b\n")
        let c2 = try work.commitAll("two", time: 1_700_000_100)
        try work.run(["push", "-q", store + "/git", "main"])
        try dir.write("jj/.jj/repo/op_heads/heads/\(String(repeating: "ab", count: 32))", "")
        #expect(try Self.eventually(5) { try sourceID("jp/main") == c2 } != nil)
    }

    @Test(arguments: [
        ("missing", "'missing' does not exist"),
        ("plain", "'plain' is not a git or jj repository"),
        ("file.txt", "'file.txt' is not a directory")
    ])
    func badSourceIsAOneLineConfigError(source: String, message: String) throws {
        let dir = TempDir("ark-watch-bad")
        try FileManager.default.createDirectory(atPath: dir.file("plain"), withIntermediateDirectories: true)
        try dir.write("file.txt", "x\n")
        try dir.write("ark.toml", "[[repos]]\nid = \"ok\"\n\n[[repos]]\nid = \"proj\"\nsource = \"\(source)\"\n")
        for args in [["run"], ["log"]] {
            let r = try ArkProcess.run(args, cwd: dir.path)
            #expect(r.status == 2)
            #expect(r.stderr == "ark: ark.toml:6: repos[1].source: \(message)\n")
        }
    }

    /// The imported head is announced to a peer as a local commit would be.
    @Test func importedHeadsReachAPeer() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        let git = try GitFixture(a.dir.file("src"))
        try git.write("f.txt", "one\n")
        let c1 = try git.commitAll("one", time: 1_700_000_000)
        let toml = try String(contentsOfFile: a.dir.file("ark.toml"), encoding: .utf8)
        try a.dir.write("ark.toml", toml.replacingOccurrences(of: "id = \"proj\"", with: "id = \"proj\"\nsource = \"src\""))
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        defer { for p in [pa, pb] { _ = Self.stop(p) } }
        func seenOnB(_ sha: String) throws -> Bool {
            let r = try b.ark("log", "--json", "-n", "1", "proj/main@a")
            guard r.ok, let list = try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]] else { return false }
            return list.first?["source_id"] as? String == sha
        }
        #expect(try Self.eventually(20) { try seenOnB(c1) } != nil)
        try git.write("f.txt", "two\n")
        let c2 = try git.commitAll("two", time: 1_700_000_100)
        #expect(try Self.eventually(10) { try seenOnB(c2) } != nil)
        #expect(try b.ark("cat", "proj/main@a:f.txt").stdout == "two\n")
    }
}

/// The history browser with a source configured shows commits as they are made.
@Suite(.serialized, .enabled(if: FuseSupport.shouldRun))
struct WatchMountTests {
    @Test func mountedBrowserShowsNewCommits() throws {
        try FuseSupport.require()
        let f = MountFixture()
        let git = try GitFixture(f.dir.file("repo"))
        try git.write("notes.txt", "one\n")
        let first = try git.commitAll("first", time: 1_700_000_000)
        try f.dir.write("ark.toml", "[net]\nlisten = \"127.0.0.1:0\"\ndiscovery = false\n[[repos]]\nid = \"proj\"\nsource = \"repo\"\n")
        try WatchTests.Setup.createStore(f.dir.path)
        try f.withMount(nil) { (mp: String) throws in
            let main = mp + "/repos/proj/heads/main"
            let read = { (p: String) in (try? String(contentsOfFile: p, encoding: .utf8)) ?? "" }
            #expect(WatchTests.eventually(15) { read(main + "/notes.txt") == "one\n" } != nil)
            try git.write("notes.txt", "two\n")
            let second = try git.commitAll("second", time: 1_700_000_100)
            #expect(second != first)
            #expect(WatchTests.eventually(5) { read(main + "/notes.txt") == "two\n" } != nil)
            // A new branch appears as a head directory.
            try git.run(["branch", "side", first])
            #expect(WatchTests.eventually(5) { read(mp + "/repos/proj/heads/side/notes.txt") == "one\n" } != nil)
            let heads = try FileManager.default.contentsOfDirectory(atPath: mp + "/repos/proj/heads").sorted()
            #expect(heads == ["main", "proj", "side"])
        }
    }
}
