import Foundation
import Testing

/// commit, log, ls, cat, export, diff, show, oplog and verify on one evolving source tree.
@Suite(.serialized) struct CommandTests {
    static func isHexID(_ s: String) -> Bool { s.count == 64 && s.allSatisfy { $0.isHexDigit && !$0.isUppercase } }

    /// src/: text, executable, symlink, empty dir, a deep file, an empty file and a 3 MiB random file.
    static func makeSource(_ ws: Workspace) throws -> [UInt8] {
        var rng = SeededRandom(seed: 2024)
        let big = rng.bytes(3 << 20 + 777)
        try ws.write("src/a.txt", Array("alpha\n".utf8))
        try ws.write("src/bin/run.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
        try ws.symlink("src/link", to: "a.txt")
        try ws.symlink("src/dangling", to: "does/not/exist")
        try ws.mkdir("src/empty")
        try ws.write("src/deep/x/y/z/file.txt", Array("deep v1\n".utf8))
        try ws.write("src/deep/x/sibling.txt", Array("unchanged\n".utf8))
        try ws.write("src/zero", [])
        try ws.write("src/big.bin", big)
        return big
    }

    @Test(.enabled(if: ExternalTool.usable("diff")))
    func fullCycle() throws {
        let ws = Workspace()
        let big = try Self.makeSource(ws)

        // commit
        let first = try ws.ok("commit", "src", "--repo", "proj", "-m", "first")
        #expect(Self.isHexID(first))

        // log, text and JSON
        let log = try ws.ok("log")
        #expect(log.contains("commit \(first) (proj)"))
        #expect(log.contains("Author: Test User <test@example.org>"))
        #expect(log.contains("    first"))
        let logJSON = try #require(try ws.json("log", "--json") as? [[String: Any]])
        #expect(logJSON.count == 1)
        #expect(logJSON.first?["id"] as? String == first)
        #expect(logJSON.first?["message"] as? String == "first")
        #expect(logJSON.first?["heads"] as? [String] == ["proj"])

        // ls
        let ls = try ws.ok("ls", "proj").split(separator: "\n").map(String.init)
        #expect(ls.count == 8, "\(ls)")
        for suffix in [" a.txt", " big.bin", " bin/", " deep/", " empty/", " link -> a.txt", " dangling -> does/not/exist", " zero"] {
            #expect(ls.contains { $0.hasSuffix(suffix) }, "no line ending in '\(suffix)' in \(ls)")
        }
        // ls shows the stored permission bits.
        #expect(ls.contains { $0.hasPrefix("-rwxr-xr-x") } == false)  // run.sh is one level down
        #expect(try ws.ok("ls", "proj:bin").hasPrefix("-rwxr-xr-x"))
        let items = try #require(try ws.json("ls", "-r", "--json", "proj") as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: items.map { ($0["path"] as! String, $0) })
        #expect(
            Set(byPath.keys) == [
                "a.txt", "big.bin", "bin", "bin/run.sh", "dangling", "deep", "deep/x", "deep/x/sibling.txt",
                "deep/x/y", "deep/x/y/z", "deep/x/y/z/file.txt", "empty", "link", "zero"
            ])
        #expect(byPath["bin/run.sh"]?["kind"] as? String == "executable")
        #expect(byPath["bin/run.sh"]?["mode"] as? String == "0755")
        #expect(byPath["link"]?["kind"] as? String == "symlink")
        #expect(byPath["link"]?["target"] as? String == "a.txt")
        #expect(byPath["empty"]?["kind"] as? String == "directory")
        #expect(byPath["big.bin"]?["size"] as? Int == big.count)
        let sub = try #require(try ws.json("ls", "--json", "proj:deep/x") as? [[String: Any]])
        #expect(sub.map { $0["path"] as? String } == ["sibling.txt", "y"])

        // cat: byte-identical, also for an empty file
        let cat = try ws.ark("cat", "proj:big.bin")
        #expect(cat.ok, "\(cat.stderr)")
        #expect(Array(cat.stdoutData) == big)
        let zero = try ws.ark("cat", "\(first):zero")
        #expect(zero.ok && zero.stdoutData.isEmpty)
        #expect(try ws.ark("cat", "proj:bin").status != 0)

        // export: identical tree, modes, symlinks, empty directories
        #expect(try ws.ark("export", "proj", "out").ok)
        #expect(try ws.treesDiffer("src", "out") == nil)
        #expect(ws.mode("out/a.txt") == 0o644)
        #expect(ws.mode("out/bin/run.sh") == 0o755)
        #expect(ws.mode("out/empty") == 0o755)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.dir.file("out/empty")).isEmpty)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: ws.dir.file("out/link")) == "a.txt")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: ws.dir.file("out/dangling")) == "does/not/exist")
        #expect(try ws.ark("export", "proj:deep/x/y/z/file.txt", "one.txt").ok)
        #expect(try ws.read("one.txt") == Array("deep v1\n".utf8))

        // re-commit of an unchanged tree
        let again = try ws.ark("commit", "src", "--repo", "proj")
        #expect(again.ok)
        #expect(again.stderr.contains("nothing changed"))
        #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == first)
        #expect((try ws.json("log", "--json") as? [Any])?.count == 1)

        // change: M deep inside a subtree, D, A, T (symlink -> file, file -> directory)
        try ws.write("src/deep/x/y/z/file.txt", Array("deep v2, longer\n".utf8))
        try FileManager.default.removeItem(atPath: ws.dir.file("src/a.txt"))
        try ws.write("src/new.txt", Array("new\n".utf8))
        try FileManager.default.removeItem(atPath: ws.dir.file("src/link"))
        try ws.write("src/link", Array("now a file\n".utf8))
        try FileManager.default.removeItem(atPath: ws.dir.file("src/zero"))
        try ws.write("src/zero/inside", Array("x".utf8))
        let second = try ws.ok("commit", "src", "--repo", "proj", "-m", "second\n\nbody")
        #expect(Self.isHexID(second) && second != first)

        let diff = try ws.ok("diff", first, second).split(separator: "\n").map(String.init)
        #expect(Set(diff) == ["M deep/x/y/z/file.txt", "D a.txt", "A new.txt", "T link", "T zero"], "\(diff)")
        #expect(diff.count == 5)
        #expect(try ws.ok("diff", second, second).isEmpty)
        let reverse = try ws.ok("diff", second, first).split(separator: "\n").map(String.init)
        #expect(Set(reverse) == ["M deep/x/y/z/file.txt", "A a.txt", "D new.txt", "T link", "T zero"])

        let show = try ws.ok("show", "proj")
        #expect(show.contains("commit \(second)"))
        #expect(show.contains("Parent:    \(first)"))
        #expect(show.contains("    second\n    \n    body"))
        #expect(show.contains("M deep/x/y/z/file.txt"))
        let showJSON = try #require(try ws.json("show", "--json", String(second.prefix(8))) as? [String: Any])
        #expect((showJSON["changes"] as? [Any])?.count == 5)
        #expect((showJSON["commit"] as? [String: Any])?["parents"] as? [String] == [first])
        let root = try #require(try ws.json("show", "--json", first) as? [String: Any])
        #expect(
            (root["changes"] as? [[String: Any]])?.contains { $0["path"] as? String == "empty/" && $0["status"] as? String == "A" } == true)

        let oplog = try ws.ok("oplog").split(separator: "\n")
        #expect(oplog.count == 2)
        #expect(oplog.first?.contains("\(first.prefix(12)) -> \(second.prefix(12))") == true)
        #expect(oplog.last?.contains("(none) -> \(first.prefix(12))") == true)
        let opJSON = try #require(try ws.json("oplog", "--json") as? [[String: Any]])
        #expect(opJSON.map { $0["new"] as? String } == [second, first])
        #expect(opJSON.first?["actor"] as? String == "self")

        let logBoth = try #require(try ws.json("log", "--json") as? [[String: Any]])
        #expect(logBoth.map { $0["id"] as? String } == [second, first])
        #expect(try ws.ok("log", "--oneline", "-n", "1").hasPrefix(String(second.prefix(12))))

        let verify = try ws.ark("verify")
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("2 commits") && verify.stdout.contains(": ok"))
        #expect(try ws.ark("verify", first).ok)

        // The first commit is still intact next to the second.
        #expect(try ws.ark("export", first, "out1").ok)
        #expect(try ws.treesDiffer("out", "out1") == nil)
        #expect(try ws.ark("export", second, "out2").ok)
        #expect(try ws.treesDiffer("src", "out2") == nil)
    }
}
