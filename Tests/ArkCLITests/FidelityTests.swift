import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What an archive must keep: every name (as bytes), permission bits and modification time,
/// through `ark commit`, `ark export`, the mount and `ark import`, checked with the real
/// `stat`, `find`, `git` and `tar`.
@Suite(.serialized)
struct FidelityTests {
    /// A Latin-1 name, names with a newline and an escape sequence, private and setuid files,
    /// 0700 and 1777 directories, mtimes in 1970, after 2038 and with nanoseconds, and a
    /// symlink with its own mtime.
    static let buildTree = #"""
        set -e
        printf 'latin\n' > "$(printf 'caf\351.txt')"
        printf 'nl\n' > "$(printf 'new\nline')"
        printf 'esc\n' > "$(printf 'esc\033[31mred')"
        printf 'secret\n' > private; chmod 0600 private
        mkdir dir700; printf 'in\n' > dir700/inner; chmod 0700 dir700
        mkdir tmp1777; chmod 1777 tmp1777
        printf '#!/bin/sh\n' > suid; chmod 4755 suid
        printf 'sgid\n' > sgid; chmod 2750 sgid
        printf 'old\n' > old; touch -d @1 old
        printf 'future\n' > future; touch -d @4102444800 future
        printf 'ns\n' > nanos; touch -d @1700000000.123456789 nanos
        ln -s private link; touch -h -d @1600000000.5 link
        touch -d @1500000000.25 dir700/inner "$(printf 'caf\351.txt')"
        touch -d @1400000000.75 dir700 tmp1777
        """#

    /// `stat -c '%n %a %Y %y'` of every entry under `root` (not root itself), in byte order,
    /// as hex (names are bytes) and as text for messages.
    static func listing(_ root: String) throws -> (hex: String, text: String) {
        let cmd = "cd '\(root)' && find . -mindepth 1 -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a %Y %y'"
        let hex = try sh(cmd + " | od -An -tx1 -v")
        let text = try sh(cmd)
        #expect(hex.status == 0 && text.status == 0, "\(hex.err)")
        return (hex.out, text.out)
    }

    static func fixture() throws -> MountFixture {
        let f = MountFixture()
        try FileManager.default.createDirectory(atPath: f.src, withIntermediateDirectories: true)
        let made = try sh(buildTree, cwd: f.src)
        try #require(made.status == 0, "building the tree: \(made.err)")
        return f
    }

    @Test func commitThenExportKeepsNamesModesAndTimes() throws {
        let f = try Self.fixture()
        let source = try Self.listing(f.src)
        #expect(source.text.contains("./suid 4755 "), "\(source.text)")
        #expect(source.text.contains("./tmp1777 1777 "), "\(source.text)")
        #expect(source.text.contains(".123456789"), "\(source.text)")
        let first = try f.commit()
        let out = f.dir.file("export")
        try f.ark("export", "demo", out)
        let exported = try Self.listing(out)
        #expect(exported.hex == source.hex, "source:\n\(source.text)\nexport:\n\(exported.text)")
        #expect(try sh("diff -r --no-dereference '\(f.src)' '\(out)'").status == 0)

        // Unchanged: the same tree, no commit. A touched file: a new tree, no new chunk.
        let again = try ArkProcess.run(["commit", "src", "--repo", "demo", "--json"], cwd: f.dir.path)
        let json = try #require(try JSONSerialization.jsonObject(with: again.stdoutData) as? [String: Any])
        #expect(json["created"] as? Bool == false && json["id"] as? String == first)
        try #require(try sh("touch -d @1234567890.5 nanos", cwd: f.src).status == 0)
        let touched = try ArkProcess.run(["commit", "src", "--repo", "demo", "--json"], cwd: f.dir.path)
        let tj = try #require(try JSONSerialization.jsonObject(with: touched.stdoutData) as? [String: Any])
        #expect(tj["created"] as? Bool == true)
        #expect(tj["new_bytes_stored"] as? Int ?? -1 < 4096, "\(tj)")
        // A permission-only change is its own kind in diff.
        try #require(try sh("chmod 0640 private", cwd: f.src).status == 0)
        let third = try f.commit()
        #expect(try f.ark("diff", tj["id"] as! String, third).stdout == "P private\n")
    }

    @Test func mountPresentsNamesModesAndTimes() throws {
        try FuseSupport.require()
        let f = try Self.fixture()
        let source = try Self.listing(f.src)
        _ = try f.commit()
        try f.withMount("demo") { mp in
            let mounted = try Self.listing(mp)
            #expect(mounted.hex == source.hex, "source:\n\(source.text)\nmount:\n\(mounted.text)")
            #expect(try sh("cat \"$(printf '\(mp)/caf\\351.txt')\"").out == "latin\n")
        }
    }

    @Test func namesThatAreNotUTF8InTextJSONAndPaths() throws {
        let f = try Self.fixture()
        _ = try f.commit()
        let ls = try f.ark("ls", "demo").stdout
        // Quoted as git quotes paths, bytes that are not UTF-8 in octal.
        #expect(ls.contains(#" "caf\351.txt""# + "\n"), "\(ls)")
        #expect(ls.contains(#" "new\nline""# + "\n") && ls.contains(#" "esc\033[31mred""# + "\n"), "\(ls)")
        #expect(ls.contains("-rw------- "), "\(ls)")
        let r = try ArkProcess.run(["ls", "--json", "demo"], cwd: f.dir.path)
        let items = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
        let latin = try #require(items.first { $0["path_b64"] != nil })
        #expect(latin["path_b64"] as? String == Data([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]).base64EncodedString())
        #expect(latin["path"] as? String == #""caf\351.txt""#)
        let priv = try #require(items.first { $0["path"] as? String == "private" })
        #expect(priv["mode"] as? String == "0600")
        let nanos = try #require(items.first { $0["path"] as? String == "nanos" })
        #expect(nanos["mtime"] as? Int == 1_700_000_000 && nanos["mtime_ns"] as? Int == 123_456_789)
        // rev:path in the same quoted form (`\xe9` accepted inside the quotes too), or literal.
        #expect(try f.ark("cat", #"demo:"caf\351.txt""#).stdout == "latin\n")
        #expect(try f.ark("cat", #"demo:"caf\xe9.txt""#).stdout == "latin\n")
        #expect(try f.ark("cat", #"demo:"new\nline""#).stdout == "nl\n")
        #expect(try f.ark("cat", "demo:new\nline").stdout == "nl\n")
        #expect(try f.ark("cat", #"demo:"esc\033[31mred""#).stdout == "esc\n")
        // As a shell passes the form ls prints, and a path that is not well formed.
        let quoted = try sh("cd '\(f.dir.path)' && '\(ArkProcess.binary)' cat 'demo:\"caf\\351.txt\"'")
        #expect(quoted.status == 0 && quoted.out == "latin\n", "\(quoted.err)")
        let bad = try ArkProcess.run(["cat", #"demo:"caf\351.txt"#], cwd: f.dir.path)
        #expect(!bad.ok && bad.stderr.contains("not a well-formed quoted path"), "\(bad.stderr)")
        // Or the raw bytes, as a shell passes them.
        let raw = try sh("cd '\(f.dir.path)' && '\(ArkProcess.binary)' cat \"demo:$(printf 'caf\\351.txt')\"")
        #expect(raw.status == 0 && raw.out == "latin\n", "\(raw.err)")
    }

    /// Runs `command` as an unprivileged user when this is root (root reads any file).
    static func unprivileged(_ command: String, owning dir: String) -> String {
        guard getuid() == 0 else { return command }
        return "chown -R 65534:65534 '\(dir)' && setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '\(command)'"
    }

    @Test func unreadableFilesAreListedAndTheRestIsCommitted() throws {
        let f = try Self.fixture()
        try #require(
            try sh(
                "printf 'x' > locked && chmod 000 locked && mkfifo pipe && mkdir closed && printf y > closed/f && chmod 000 closed",
                cwd: f.src
            ).status == 0)
        let cmd = "cd \(f.dir.path) && \(ArkProcess.binary) commit src --repo demo --json"
        let r = try sh(Self.unprivileged(cmd, owning: f.dir.path))
        #expect(r.status == 4, "exit \(r.status): \(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        let skipped = (json["skipped"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(skipped.contains { $0.hasSuffix("/src/locked") }, "\(skipped)")
        #expect(skipped.contains { $0.hasSuffix("/src/pipe") }, "\(skipped)")
        #expect(skipped.contains { $0.hasSuffix("/src/closed") }, "\(skipped)")
        #expect(json["created"] as? Bool == true)
        // Text output names each one.
        try #require(try sh("chmod 644 '\(f.src)/old' && touch '\(f.src)/old'").status == 0)
        let text = try sh(Self.unprivileged("cd \(f.dir.path) && \(ArkProcess.binary) commit src --repo demo", owning: f.dir.path))
        #expect(text.status == 4)
        #expect(text.err.contains("src/locked: cannot read: "), "\(text.err)")
        #expect(text.err.contains("src/pipe: a fifo is not stored"), "\(text.err)")
        let ls = try sh(Self.unprivileged("cd \(f.dir.path) && \(ArkProcess.binary) ls demo", owning: f.dir.path))
        #expect(ls.out.contains(" private\n") && !ls.out.contains(" locked\n"), "\(ls.out)")
    }

    @Test func gitPathsAndMessagesInLatin1ImportAndExportLikeGitArchive() throws {
        let dir = TempDir("ark-fidelity-git")
        let g = try GitFixture(dir.file("src"))
        try #require(
            try sh(
                "printf 'latin\\n' > \"$(printf 'caf\\351.txt')\" && mkdir \"$(printf 'r\\351pertoire')\" && printf 'x\\n' > \"$(printf 'r\\351pertoire/f')\" && printf 'plain\\n' > plain.txt",
                cwd: g.path
            ).status == 0)
        try g.run(["add", "-A"])
        try sh("printf 'Caf\\351 cr\\351\\351\\n' > '\(dir.file("msg"))'")
        try g.run(["-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-F", dir.file("msg")])
        try sh("printf 'x2\\n' >> \"$(printf 'caf\\351.txt')\"", cwd: g.path)
        try g.run(["add", "-A"])
        try sh("printf 'sans en-t\\352te \\351\\n' > '\(dir.file("msg2"))'")
        try g.run(["commit", "-q", "-F", dir.file("msg2")])
        let r = try ArkProcess.run(["import", g.path, "--repo", "proj"], cwd: dir.path)
        try #require(r.ok, "\(r.stderr)")
        for rev in ["HEAD~1", "HEAD"] {
            let sha = try g.text(["rev-parse", rev])
            let arkDir = dir.file("ark-\(sha)"), gitDir = dir.file("git-\(sha)")
            let e = try ArkProcess.run(["export", sha, arkDir], cwd: dir.path)
            try #require(e.ok, "export \(sha): \(e.stderr)")
            try g.archive(sha, to: gitDir)
            let names = "find . -mindepth 1 | LC_ALL=C sort | od -An -tx1 -v"
            #expect(try sh(names, cwd: arkDir).out == (try sh(names, cwd: gitDir).out))
            #expect(try sh("diff -r '\(arkDir)' '\(gitDir)'").status == 0)
        }
        let log = try ArkProcess.run(["log", "--json"], cwd: dir.path)
        let commits = try #require(try JSONSerialization.jsonObject(with: log.stdoutData) as? [[String: Any]])
        #expect(commits.compactMap { $0["message"] as? String }.contains("Café créé\n"), "\(commits.map { $0["message"] ?? "" })")
    }

    @Test func peersReplicateNamesModesAndTimesExactly() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        let src = a.dir.file("src")
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try #require(try sh(Self.buildTree, cwd: src).status == 0)
        let source = try Self.listing(src)
        let commit = try a.ark("commit", "src", "--repo", "proj").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        defer { for p in [pa, pb] { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        #expect(try SyncNode.eventually(20) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") })
        #expect(try b.ark("verify").ok)
        let out = b.dir.file("export")
        let e = try b.ark("export", commit, out)
        try #require(e.ok, "\(e.stderr)")
        let replicated = try Self.listing(out)
        #expect(replicated.hex == source.hex, "source:\n\(source.text)\nreplicated:\n\(replicated.text)")
    }
}
