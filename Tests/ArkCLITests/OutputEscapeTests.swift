import Foundation
import Glibc
import Testing

/// Messages, authors, file names and source paths carrying terminal escape sequences, from a
/// commit and from an imported git repository: no text command prints a raw control character
/// (only the newlines between lines), while `--json` returns the strings exactly.
@Suite struct OutputEscapeTests {
    static let evil = "\u{1b}[31mred\u{1b}]0;title\u{7}"
    static let message = "\(evil) subject\n\nbody \u{9b}2J line\u{7f}\nlast\tline\r"
    static let author = "Eve\(evil)"
    static let email = "eve\u{1b}[1m@example.org"
    static let fileName = "file\(evil).txt"
    static let newlineName = "two\nlines.txt"

    /// Every control character in `s` other than newline and tab (kept in message bodies):
    /// C0, DEL and C1.
    static func rawControls(_ s: String) -> [String] {
        s.unicodeScalars.filter { c in c.value != 0x0A && c.value != 0x09 && (c.value < 0x20 || (0x7F...0x9F).contains(c.value)) }
            .map { String(format: "U+%04X", $0.value) }
    }

    static func expectClean(_ r: ArkProcess.Result, _ what: String, ok: Bool = true) {
        if ok { #expect(r.ok, "\(what): exit \(r.status): \(r.stderr)") }
        #expect(rawControls(r.stdout).isEmpty, "\(what): stdout has \(rawControls(r.stdout))")
        #expect(rawControls(r.stderr).isEmpty, "\(what): stderr has \(rawControls(r.stderr))")
    }

    @Test func committedNamesAreEscapedInTextAndExactInJSON() throws {
        let ws = Workspace()
        try ws.write("src/\(Self.fileName)", Array("one\n".utf8))
        try ws.write("src/\(Self.newlineName)", Array("x\n".utf8))
        let first = try ws.ark("commit", "src", "--repo", "proj", "-m", Self.message, "--author", "\(Self.author) <\(Self.email)>")
        Self.expectClean(first, "commit")
        try ws.write("src/\(Self.fileName)", Array("two\n".utf8))
        let second = try ws.ark("commit", "src", "--repo", "proj", "-m", Self.message, "--author", "\(Self.author) <\(Self.email)>")
        Self.expectClean(second, "second commit")
        let a = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            b = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        for args in [["log"], ["log", "--oneline"], ["show", b], ["ls", "-r", "proj"], ["diff", a, b], ["oplog"], ["status"], ["verify"]] {
            Self.expectClean(try ws.ark(args), "ark \(args.joined(separator: " "))")
        }
        let log = try ws.ark("log")
        #expect(log.stdout.contains("Author: Eve\\x1b[31mred\\x1b]0;title\\x07 <eve\\x1b[1m@example.org>"), "\(log.stdout)")
        #expect(log.stdout.contains("    \\x1b[31mred\\x1b]0;title\\x07 subject\n"), "\(log.stdout)")
        #expect(log.stdout.contains("    body \\u009b2J line\\x7f\n    last\tline\\r\n"), "\(log.stdout)")
        let ls = try ws.ark("ls", "proj")
        // Names and paths are quoted as git quotes paths; messages and authors keep `\x1b`.
        #expect(ls.stdout.contains(#" "file\033[31mred\033]0;title\a.txt""# + "\n"), "\(ls.stdout)")
        #expect(ls.stdout.contains(#" "two\nlines.txt""# + "\n"), "\(ls.stdout)")
        #expect(try ws.ark("diff", a, b).stdout == #"M "file\033[31mred\033]0;title\a.txt""# + "\n")
        #expect(try ws.ark("show", b).stdout.contains(#"M "file\033[31mred\033]0;title\a.txt""# + "\n"))
        // An error message echoing a name stays on one line, escaped.
        let missing = try ws.ark("cat", "proj:no\(Self.evil)\nsuch")
        Self.expectClean(missing, "cat of a missing path", ok: false)
        BadInputTests.expectOneErrorLine(missing, containing: [#"no such path '"no\033[31mred\033]0;title\a\nsuch"'"#], "missing path")

        let json = try #require(try ws.json("log", "--json", "proj") as? [[String: Any]])
        #expect(json.first?["message"] as? String == Self.message)
        #expect(json.first?["author"] as? String == Self.author)
        #expect(json.first?["author_email"] as? String == Self.email)
        let items = try #require(try ws.json("ls", "--json", "proj") as? [[String: Any]])
        #expect(Set(items.compactMap { $0["path"] as? String }) == [Self.fileName, Self.newlineName])
        let change = try #require(try ws.json("diff", "--json", a, b) as? [String: Any])
        #expect(change["path"] as? String == Self.fileName)
    }

    @Test func importedNamesAreEscapedInTextAndExactInJSON() throws {
        let dir = TempDir("ark-escape")
        let source = dir.file("src\(Self.evil)")
        var g = try GitFixture(source)
        g.env["GIT_AUTHOR_NAME"] = Self.author
        g.env["GIT_AUTHOR_EMAIL"] = "eve@example.org"
        try g.write(Self.fileName, "one\n")
        let sha = try g.commitAll(Self.message, time: 1_700_000_000)

        let imported = try ArkProcess.run(["import", source, "--repo", "proj"], cwd: dir.path)
        Self.expectClean(imported, "import")
        for args in [["log", "proj"], ["log", "--oneline", "proj"], ["show", "proj"], ["ls", "-r", "proj"], ["oplog"], ["status"]] {
            Self.expectClean(try ArkProcess.run(args, cwd: dir.path), "ark \(args.joined(separator: " "))")
        }
        let oplog = try ArkProcess.run(["oplog"], cwd: dir.path)
        #expect(oplog.stdout.contains("import \(dir.path)/src\\x1b[31mred\\x1b]0;title\\x07"), "\(oplog.stdout)")

        let log = try ImportTests.logJSON(["proj"], cwd: dir.path)
        #expect(log.first?["source_id"] as? String == sha)
        // git keeps the message as given, less the final carriage return and newline it strips.
        let gitMessage = try g.text(["log", "-1", "--format=%B", sha])
        #expect((log.first?["message"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) == gitMessage)
        #expect((log.first?["message"] as? String)?.hasPrefix(Self.evil) == true)
        // git drops the trailing BEL from a name, as it trims control characters at its ends.
        let gitAuthor = try g.text(["log", "-1", "--format=%an", sha])
        #expect(gitAuthor.hasPrefix("Eve\u{1b}[31m"))
        #expect(log.first?["author"] as? String == gitAuthor)
        let items = try #require(
            try JSONSerialization.jsonObject(with: ArkProcess.run(["ls", "--json", "proj"], cwd: dir.path).stdoutData) as? [[String: Any]])
        #expect(items.compactMap { $0["path"] as? String } == [Self.fileName])
    }

    /// The daemon's log lines name the source it watches and imports from: escaped too.
    @Test func daemonLogLinesAreEscaped() throws {
        let dir = TempDir("ark-escape")
        let g = try GitFixture(dir.file("src\(Self.evil)"))
        try g.write("file.txt", "one\n")
        let sha = try g.commitAll("first", time: 1_700_000_000)
        try dir.write(
            "ark.toml",
            """
            [net]
            listen = "127.0.0.1:0"
            discovery = false
            [[repos]]
            id = "proj"
            source = "src\\u001b[31mred\\u001b]0;title\\u0007"
            """)
        try WatchTests.Setup.createStore(dir.path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ArkProcess.binary)
        p.arguments = ["run"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        p.environment = ProcessInfo.processInfo.environment.merging(["ARK_LOG": "info"]) { $1 }
        _ = FileManager.default.createFile(atPath: dir.file("run.log"), contents: nil)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("run.log")))
        try p.run()
        let log = { (try? String(contentsOfFile: dir.file("run.log"), encoding: .utf8)) ?? "" }
        let imported = try WatchTests.eventually(15) {
            let r = try ArkProcess.run(["log", "--json", "-n", "1", "proj"], cwd: dir.path)
            return r.ok
                && (try? JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])??.first?["source_id"] as? String == sha
        }
        #expect(WatchTests.stop(p) == 0)
        #expect(imported != nil, "\(log())")
        #expect(log().contains("src\\x1b[31mred\\x1b]0;title\\x07"), "\(log())")
        #expect(Self.rawControls(log()).isEmpty, "\(Self.rawControls(log()))")
    }
}
