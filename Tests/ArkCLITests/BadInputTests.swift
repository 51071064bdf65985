import ArkCore
import Foundation
import Testing

/// Bad input: one line on stderr starting `ark: `, a non-zero exit, and nothing created or lost.
@Suite struct BadInputTests {
    struct ConfigCase: Sendable, CustomTestStringConvertible {
        var label: String
        var toml: String
        /// Fragments the error line must contain.
        var expected: [String]
        var testDescription: String { label }
    }

    static let configCases: [ConfigCase] = [
        ConfigCase(
            label: "syntax error", toml: "# settings\n[store]\npath = \"d\"\nbroken = = 1\n", expected: ["ark.toml:4", "syntax error"]),
        ConfigCase(label: "unclosed table header", toml: "[store\npath = \"d\"\n", expected: ["ark.toml:1", "syntax error"]),
        ConfigCase(label: "unknown top-level key", toml: "colour = \"blue\"\n", expected: ["ark.toml:1", "colour", "unknown key"]),
        ConfigCase(
            label: "unknown key in table", toml: "[store]\npath = \"d\"\ncolour = 1\n",
            expected: ["ark.toml:3", "store.colour", "unknown key"]),
        ConfigCase(label: "wrong type", toml: "[store]\npath = 5\n", expected: ["ark.toml:2", "store.path", "must be a string"]),
        ConfigCase(label: "store is not a table", toml: "store = \"d\"\n", expected: ["store", "must be a table"]),
        ConfigCase(
            label: "node_id too short", toml: "[[repos]]\nid = \"r\"\n[[repos.remotes]]\nname = \"peer\"\nnode_id = \"abc\"\n",
            expected: ["ark.toml:5", "node_id", "64 hex"]),
        ConfigCase(
            label: "node_id not hex",
            toml: "[[repos]]\nid = \"r\"\n[[repos.remotes]]\nname = \"peer\"\nnode_id = \"\(String(repeating: "g", count: 64))\"\n",
            expected: ["ark.toml:5", "node_id", "64 hex"]),
        ConfigCase(
            label: "duplicate repo id", toml: "[[repos]]\nid = \"r\"\n\n[[repos]]\nid = \"r\"\n",
            expected: ["ark.toml:", "duplicate repo id 'r'"]),
        ConfigCase(label: "invalid repo id", toml: "[[repos]]\nid = \"a b\"\n", expected: ["repos[0].id", "not a valid repo id"]),
        ConfigCase(
            label: "cache limit not a size", toml: "[store]\ncache_limit = \"lots\"\n",
            expected: ["ark.toml:2", "store.cache_limit", "size"]),
        ConfigCase(
            label: "cache limit too small", toml: "[store]\ncache_limit = \"1MiB\"\n",
            expected: ["ark.toml:2", "store.cache_limit", "at least 16MiB"]),
        ConfigCase(
            label: "sync threshold wrong type", toml: "[sync]\nenumerate_threshold = \"8\"\n",
            expected: ["sync.enumerate_threshold", "integer"])
    ]

    static func expectOneErrorLine(_ r: ArkProcess.Result, containing fragments: [String], _ what: String) {
        #expect(r.status != 0, "\(what): exit 0")
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "\(what): stderr has \(lines.count) lines: \(r.stderr)")
        #expect(r.stderr.hasPrefix("ark: "), "\(what): \(r.stderr)")
        for f in fragments { #expect(r.stderr.contains(f), "\(what): '\(f)' not in: \(r.stderr)") }
    }

    @Test(arguments: configCases)
    func badConfig(_ c: ConfigCase) throws {
        let ws = Workspace()
        try ws.write("ark.toml", Array(c.toml.utf8))
        for command in [["log"], ["commit", ".", "--repo", "r"], ["id"]] {
            let r = try ws.ark(command)
            Self.expectOneErrorLine(r, containing: c.expected, "\(c.label), ark \(command[0])")
            #expect(!ws.exists("data") && !ws.exists("d"), "\(c.label): a store directory was created")
        }
    }

    @Test func missingConfigGivenExplicitly() throws {
        let ws = Workspace()
        let r = try ws.ark("log", "--config", "nope.toml")
        Self.expectOneErrorLine(r, containing: ["nope.toml", "no such file"], "missing --config")
        #expect(!ws.exists("data"))
    }

    @Test func unknownRevisionAndPaths() throws {
        let ws = Workspace()
        try ws.write("src/f", Array("x".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        Self.expectOneErrorLine(try ws.ark("cat", "nosuchrev:f"), containing: ["unknown revision 'nosuchrev'"], "unknown revision")
        Self.expectOneErrorLine(try ws.ark("log", "0000aaaa"), containing: ["unknown revision '0000aaaa'"], "unknown id")
        Self.expectOneErrorLine(try ws.ark("cat", "proj:missing"), containing: ["no such path 'missing'"], "missing path")
        Self.expectOneErrorLine(try ws.ark("show", "proj@nobody"), containing: ["unknown peer 'nobody'"], "unknown peer")
    }

    @Test func ambiguousPrefixListsCandidates() throws {
        let ws = Workspace()
        try ws.write("src/f", Array("x".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        // Two stored commits (outside any head) whose ids share their first four hex digits,
        // written through ArkCore into the same store.
        let (a, b): (ObjectID, ObjectID) = try {
            let repo = try Repository(path: ws.store)
            let session = try WriteSession(repo)
            let empty = try session.put(.tree, try Tree(entries: []).encoded())
            var seen: [String: Commit] = [:]
            for t in Int64(1)... {
                let sig = Commit.Signature(name: "n", email: "e", time: t, tzOffsetMinutes: 0)
                let c = Commit(tree: empty, parents: [], author: sig, committer: sig, message: "", node: repo.identity.endpointID)
                let p = String(ObjectHasher.hash(.commit, c.encoded()).hex.prefix(4))
                if let other = seen[p] {
                    return (
                        try session.commit(other, head: nil, expected: nil, cause: "test"),
                        try session.commit(c, head: nil, expected: nil, cause: "test")
                    )
                }
                seen[p] = c
            }
            fatalError("unreachable")
        }()
        let r = try ws.ark("show", String(a.hex.prefix(4)))
        Self.expectOneErrorLine(r, containing: ["is ambiguous", a.short, b.short], "ambiguous prefix")
        #expect(r.stdout.isEmpty)
        #expect(try ws.ok("show", a.hex).contains("commit \(a.hex)"))
    }

    @Test func commitOfMissingDirectory() throws {
        let ws = Workspace()
        let r = try ws.ark("commit", "no-such-dir", "--repo", "proj")
        Self.expectOneErrorLine(r, containing: ["no-such-dir"], "missing directory")
        try ws.write("plain", Array("x".utf8))
        Self.expectOneErrorLine(try ws.ark("commit", "plain", "--repo", "proj"), containing: ["not a directory"], "file as directory")
        #expect(try ws.ark("log").stdout.isEmpty)
    }

    @Test func badCommitArguments() throws {
        let ws = Workspace()
        try ws.write("src/f", Array("x".utf8))
        Self.expectOneErrorLine(try ws.ark("commit", "src", "--repo", "a b"), containing: ["'a b' is not a valid repo id"], "bad repo id")
        Self.expectOneErrorLine(
            try ws.ark("commit", "src", "--repo", "proj", "--author", "nobody"),
            containing: ["author 'nobody' must look like 'Name <email>'"], "bad author")
        // Rejected before the store is opened: nothing was created or read.
        #expect(!ws.exists("data"))
    }

    @Test func exportOntoExistingPath() throws {
        let ws = Workspace()
        try ws.write("src/f", Array("new".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        try ws.write("taken/keep", Array("old".utf8))
        try ws.write("file", Array("old".utf8))
        Self.expectOneErrorLine(try ws.ark("export", "proj", "taken"), containing: ["already exists"], "export onto directory")
        Self.expectOneErrorLine(try ws.ark("export", "proj:f", "file"), containing: ["already exists"], "export onto file")
        #expect(try ws.read("taken/keep") == Array("old".utf8))
        #expect(try ws.read("file") == Array("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path).sorted() == ["data", "file", "src", "taken"])
    }
}
