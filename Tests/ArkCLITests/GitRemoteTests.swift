import Foundation
import Glibc
import Testing

/// `git-remote-ark`: histories imported into ark (or made by `ark commit`) come back out through
/// `git clone ark::<repo>` and `git fetch` with every git id as it was, and `git push` moves heads.
@Suite struct GitRemoteTests {
    /// A repository written with plumbing, with what git porcelain never writes: an octopus
    /// merge with a mergetag header, a gpgsig header, an ISO-8859-1 message, an empty message,
    /// time zones -0000 and +1345, odd spacing in an author line, modes 100664 and 040000, a
    /// gitlink, symlinks, a non-UTF-8 path and a file over 64 MiB.
    static func fidelityRepository(_ path: String, big: Bool = true) throws -> (git: GitFixture, commits: [String: String]) {
        let g = try GitFixture(path)
        typealias E = GitFixture.RawEntry
        let hello = try g.blob("hello\n"), group = try g.blob("group-writable\n"), script = try g.blob("#!/bin/sh\necho hi\n")
        let link = try g.blob("hello.txt"), latin = try g.blob([0x63, 0x61, 0x66, 0xe9, 0x0a])
        let latinLink = try g.blob([0x63, 0x61, 0x66, 0xe9])  // a symlink target that is not UTF-8
        let inner = try g.rawTree([E("100644", "inner.txt", hello)])
        let root1 = try g.rawTree([
            E("100644", "hello.txt", hello), E("100664", "group.txt", group), E("100755", "run.sh", script),
            E("120000", "link", link), E("120000", "latin-link", latinLink), E("40000", "dir", inner),
            E("100644", bytes: [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74], latin)
        ])
        // A zero-padded directory mode, as some old tools wrote it, and a gitlink.
        let root2 = try g.rawTree([
            E("100644", "hello.txt", hello), E("040000", "padded", inner),
            E("160000", "sub", "1234567890abcdef1234567890abcdef12345678")
        ])
        func commit(_ text: String) throws -> String { try g.hashObject("commit", Array(text.utf8)) }
        func commit(_ bytes: [UInt8]) throws -> String { try g.hashObject("commit", bytes) }
        var c: [String: String] = [:]
        c["root"] = try commit(
            "tree \(root1)\nauthor Ann  Author <ann@example.org> 1700000000 -0000\n"
                + "committer Carl Committer <carl@example.org> 1700000060 +1345\n\nfirst\n")
        c["signed"] = try commit(
            "tree \(root2)\nparent \(c["root"]!)\nauthor Ann Author <ann@example.org> 1700000100 +0000\n"
                + "committer Carl Committer <carl@example.org> 1700000160 +0000\n"
                + "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEdummydummydummydummydummydummy=\n =abcd\n -----END PGP SIGNATURE-----\n\nsigned\n"
        )
        c["latin"] = try commit(
            Array("tree \(root1)\nparent \(c["root"]!)\nauthor Ren\u{e9} <rene@example.org> 1700000200 +0100\n".utf8)
                + Array("committer Carl Committer <carl@example.org> 1700000260 +0100\nencoding ISO-8859-1\n\nCaf".utf8) + [0xe9, 0x0a])
        c["empty"] = try commit(
            "tree \(root1)\nparent \(c["root"]!)\nauthor Ann Author <ann@example.org> 1700000300 +0000\n"
                + "committer Carl Committer <carl@example.org> 1700000360 +0000\n\n")
        c["octopus"] = try commit(
            "tree \(root2)\nparent \(c["signed"]!)\nparent \(c["latin"]!)\nparent \(c["empty"]!)\n"
                + "author Ann Author <ann@example.org> 1700000400 +0000\ncommitter Carl Committer <carl@example.org> 1700000460 +0000\n"
                + "mergetag object \(c["latin"]!)\n type commit\n tag v0\n tagger Carl Committer <carl@example.org> 1700000250 +0000\n \n tag v0\n"
                + "unknown-header some value\n\nmerge three\n\nwith a body and no final newline")
        var refs = ["main": c["octopus"]!, "side": c["latin"]!, "empty": c["empty"]!]
        if big {
            var block = [UInt8](repeating: 0, count: 1 << 20)
            var x: UInt64 = 0x9E3779B97F4A7C15
            for i in block.indices { x ^= x << 13; x ^= x >> 7; x ^= x << 17; block[i] = UInt8(truncatingIfNeeded: x) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(65 << 20 + 100)
            for i in 0..<65 { bytes += block; bytes.append(UInt8(i)) }
            let blob = try g.blob(bytes)
            let tree = try g.rawTree([E("100644", "big.bin", blob), E("100644", "hello.txt", hello)])
            c["big"] = try commit(
                "tree \(tree)\nparent \(c["root"]!)\nauthor Ann Author <ann@example.org> 1700000500 +0000\n"
                    + "committer Carl Committer <carl@example.org> 1700000560 +0000\n\nbig file\n")
            refs["big"] = c["big"]!
        }
        for (name, id) in refs { try g.run(["update-ref", "refs/heads/" + name, id]) }
        try g.run(["update-ref", "refs/tags/v1", c["signed"]!])
        return (g, c)
    }

    @Test func cloneReproducesEveryObject() throws {
        let ws = Workspace()
        let (g, commits) = try Self.fidelityRepository(ws.dir.file("src"))
        _ = try ws.ok("import", g.path, "--repo", "proj")
        let git = try GitRemote()
        // A mirror takes the refs as advertised: the same ids under the same names.
        try git.ok(["clone", "-q", "--mirror", "ark::proj", "mirror.git"], cwd: ws.path)
        #expect(try git.refs(ws.dir.file("mirror.git")) == git.refs(g.path))
        // A normal clone checks the work tree out and has every commit.
        try git.ok(["clone", "-q", "ark::proj", "clone"], cwd: ws.path)
        let clone = ws.dir.file("clone")
        #expect(try git.revList(clone) == git.revList(g.path))
        for (name, id) in commits {
            #expect(try git.ok(["-C", clone, "rev-parse", name == "root" ? id : id + "^{commit}"], cwd: "/") == id, "\(name)")
        }
        for branch in ["main", "side", "empty", "big"] {
            #expect(try git.ok(["-C", clone, "rev-parse", "origin/" + branch], cwd: "/") == g.text(["rev-parse", branch]))
        }
        #expect(try git.ok(["-C", clone, "rev-parse", "v1"], cwd: "/") == commits["signed"])
        #expect(try git.fsck(clone, strict: false).status == 0)
        let strictOriginal = try git.fsck(g.path, strict: true), strictClone = try git.fsck(clone, strict: true)
        #expect(strictClone.findings == strictOriginal.findings)
        // The exit status differs in kind (the clone's objects are in a pack, the original's loose).
        #expect((strictClone.status == 0) == (strictOriginal.status == 0))
        #expect(!strictOriginal.findings.isEmpty, "the fixture's 100664 and 040000 modes are --strict findings")
        // The work tree has the bytes: a non-UTF-8 name, the symlink, the big file.
        try git.ok(["-C", clone, "checkout", "-q", "origin/side"], cwd: "/")
        let latinName: [UInt8] = Array((clone + "/caf").utf8) + [0xe9] + Array(".txt".utf8) + [0]
        #expect(latinName.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { access($0.baseAddress!, F_OK) } } == 0)
        var st = stat()
        #expect(lstat(clone + "/link", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
        #expect(SymlinkBytesTests.readLink(clone + "/latin-link") == [0x63, 0x61, 0x66, 0xe9])
        try git.ok(["-C", clone, "checkout", "-q", "origin/big"], cwd: "/")
        #expect(stat(clone + "/big.bin", &st) == 0 && st.st_size == 65 << 20 + 65)
    }

    @Test func fetchSendsOnlyWhatIsMissing() throws {
        let ws = Workspace()
        let g = try GitFixture(ws.dir.file("src"))
        try g.write("a.txt", "one\n")
        try g.write("dir/b.txt", "two\n")
        try g.commitAll("one", time: 1_700_000_000)
        _ = try ws.ok("import", g.path, "--repo", "proj")
        try ws.dir.write("ark.toml", "[store]\npath = \"data\"\n")
        let git = try GitRemote()
        // The configuration named in the URL: later fetches run in the clone, not here.
        try git.ok(["clone", "-q", "ark::" + ws.dir.file("ark.toml") + "#proj", "clone"], cwd: ws.path)
        let clone = ws.dir.file("clone")
        func inPack() throws -> Int {
            let out = try git.ok(["-C", clone, "count-objects", "-v"], cwd: "/")
            let line = out.split(separator: "\n").first { $0.hasPrefix("in-pack:") } ?? ""
            return Int(line.split(separator: " ").last ?? "") ?? -1
        }
        let before = try inPack()
        #expect(before == 5)  // commit, root tree, dir tree, two blobs
        try g.write("a.txt", "one, changed\n")
        let second = try g.commitAll("two", time: 1_700_000_100)
        _ = try ws.ok("import", g.path, "--repo", "proj")
        let start = Date()
        try git.ok(["-C", clone, "fetch", "-q", "origin"], cwd: "/")
        print("[git] one-commit fetch: \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        #expect(try git.ok(["-C", clone, "rev-parse", "origin/main"], cwd: "/") == second)
        #expect(try inPack() == before + 3)  // the commit, the root tree, the changed blob; dir/ is unchanged
        let remote = try git.ok(["ls-remote", "ark::proj"], cwd: ws.path)
        #expect(remote.contains("\(second)\tHEAD"))
        #expect(remote.contains("\(second)\trefs/heads/main"))
    }

    @Test func jjChangeIDsComeBack() throws {
        let ws = Workspace()
        let (g, jj) = try ImportTests.richRepository(ws.dir.file("git"))
        // jj's layout: the git store inside .jj, named by git_target.
        try ws.dir.write("repo/.jj/repo/store/git_target", "../../../../git/.git")
        _ = try ws.ok("import", ws.dir.file("repo"), "--repo", "proj")
        let git = try GitRemote(env: ["ARK_CONFIG": ws.dir.file("ark.toml")])
        try ws.dir.write("ark.toml", "[store]\npath = \"data\"\n")
        try git.ok(["clone", "-q", "ark::proj", ws.dir.file("clone")], cwd: "/")
        let clone = ws.dir.file("clone")
        #expect(try git.ok(["-C", clone, "rev-parse", "origin/jj"], cwd: "/") == jj)
        #expect(try git.ok(["-C", clone, "cat-file", "commit", jj], cwd: "/").contains("\nchange-id zyxwvutsrqponmlkzyxwvutsrqponmlk\n"))
        for branch in ["main", "side", "big", "empty"] {
            #expect(try git.ok(["-C", clone, "rev-parse", "origin/" + branch], cwd: "/") == g.text(["rev-parse", branch]))
        }
    }

    @Test func pushMovesHeads() throws {
        let ws = Workspace()
        let (g, commits) = try Self.fidelityRepository(ws.dir.file("src"), big: false)
        _ = try ws.ok("import", g.path, "--repo", "proj")
        // ARK_CONFIG names the store for every git command, wherever it runs.
        try ws.dir.write("ark.toml", "[store]\npath = \"data\"\n")
        let git = try GitRemote(env: ["ARK_CONFIG": ws.dir.file("ark.toml")])
        try git.ok(["clone", "-q", "ark::proj", "clone"], cwd: ws.path)
        let clone = ws.dir.file("clone")
        try "pushed\n".write(toFile: clone + "/pushed.txt", atomically: true, encoding: .utf8)
        try git.ok(["-C", clone, "add", "pushed.txt"], cwd: "/")
        try git.ok(["-C", clone, "commit", "-q", "-m", "pushed"], cwd: "/")
        let pushed = try git.ok(["-C", clone, "rev-parse", "HEAD"], cwd: "/")
        try git.ok(["-C", clone, "push", "-q", "origin", "HEAD:refs/heads/feature"], cwd: "/")
        let heads = try ws.ok("log", "--oneline")
        #expect(heads.contains("proj/feature"), "\(heads)")
        // `ark` finds the store through ARK_CONFIG as the helper does.
        let elsewhere = TempDir("ark-elsewhere")
        let viaEnv = try ArkProcess.run(["log", "--oneline"], cwd: elsewhere.path, env: ["ARK_CONFIG": ws.dir.file("ark.toml")])
        #expect(viaEnv.ok && viaEnv.stdout.contains("proj/feature"), "\(viaEnv.stderr)")
        try git.ok(["clone", "-q", "ark::proj", "again"], cwd: ws.path)
        #expect(try git.ok(["-C", ws.dir.file("again"), "rev-parse", "origin/feature"], cwd: "/") == pushed)
        // Not a fast-forward: refused without force, taken with it.
        let rejected = try git.run(["-C", clone, "push", "-q", "origin", "\(commits["root"]!):refs/heads/feature"], cwd: "/")
        #expect(!rejected.ok)
        #expect(rejected.stderr.contains("non-fast-forward") || rejected.stderr.contains("rejected"), "\(rejected.stderr)")
        try git.ok(["-C", clone, "push", "-q", "origin", "+\(commits["root"]!):refs/heads/feature"], cwd: "/")
        #expect(try git.ok(["ls-remote", "ark::proj", "refs/heads/feature"], cwd: ws.path).hasPrefix(commits["root"]!))
        // Deleting the ref deletes the head.
        try git.ok(["-C", clone, "push", "-q", "origin", ":refs/heads/feature"], cwd: "/")
        #expect(!(try ws.ok("log", "--oneline")).contains("proj/feature"))
    }

    /// A repo with only its main head advertises `refs/heads/main` for it: a push there moves
    /// the main head (fast-forward only), not a new head named `main`; a branch under `tags/`
    /// is refused (it would overwrite the tag head of that name).
    @Test func pushToTheStandInMainMovesTheMainHead() throws {
        let ws = Workspace()
        try ws.write("src/a.txt", Array("a\n".utf8))
        _ = try ws.ok("commit", ws.dir.file("src"), "--repo", "proj", "-m", "first")
        try ws.dir.write("ark.toml", "[store]\npath = \"data\"\n")
        let git = try GitRemote(env: ["ARK_CONFIG": ws.dir.file("ark.toml")])
        try git.ok(["clone", "-q", "ark::proj", "clone"], cwd: ws.path)
        let clone = ws.dir.file("clone")
        let first = try git.ok(["-C", clone, "rev-parse", "HEAD"], cwd: "/")
        try "b\n".write(toFile: clone + "/b.txt", atomically: true, encoding: .utf8)
        try git.ok(["-C", clone, "add", "b.txt"], cwd: "/")
        try git.ok(["-C", clone, "commit", "-q", "-m", "second"], cwd: "/")
        let second = try git.ok(["-C", clone, "rev-parse", "HEAD"], cwd: "/")
        try git.ok(["-C", clone, "push", "-q", "origin", "HEAD:refs/heads/main"], cwd: "/")
        let log = try ws.ok("log", "--oneline")
        #expect(!log.contains("proj/main"), "\(log)")
        #expect(try git.ok(["ls-remote", "ark::proj", "HEAD"], cwd: ws.path).hasPrefix(second))
        #expect(try ws.ok("cat", "proj:b.txt") == "b")
        // The main head is fast-forward only, like any other.
        let back = try git.run(["-C", clone, "push", "-q", "origin", "\(first):refs/heads/main"], cwd: "/")
        #expect(!back.ok)
        #expect(try git.ok(["ls-remote", "ark::proj", "HEAD"], cwd: ws.path).hasPrefix(second))
        let tagBranch = try git.run(["-C", clone, "push", "-q", "origin", "HEAD:refs/heads/tags/v1"], cwd: "/")
        #expect(!tagBranch.ok)
        #expect(!(try ws.ok("log", "--oneline")).contains("tags/v1"))
    }

    @Test func importRefusesACommitThatWouldNotRoundTrip() throws {
        let ws = Workspace()
        let g = try GitFixture(ws.dir.file("src"))
        let a = try g.blob("a\n")
        // Entries out of git's order: git accepts it with --literally, ark cannot regenerate it.
        let bytes = Array("100644 b\0".utf8) + Self.raw(a) + Array("100644 a\0".utf8) + Self.raw(a)
        let tree = try g.hashObject("tree", bytes)
        let c = try g.hashObject("commit", Array("tree \(tree)\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nbad\n".utf8))
        try g.run(["update-ref", "refs/heads/main", c])
        let r = try ws.ark("import", g.path, "--repo", "proj")
        #expect(!r.ok)
        #expect(r.stderr.contains(c) && r.stderr.contains("round-trip"), "\(r.stderr)")
    }

    @Test func errorsAreOneLineAndLeaveNoRepository() throws {
        let ws = Workspace()
        let g = try GitFixture(ws.dir.file("src"))
        try g.write("a.txt", "a\n")
        try g.commitAll("a", time: 1_700_000_000)
        _ = try ws.ok("import", g.path, "--repo", "proj")
        let git = try GitRemote()
        let unknown = try git.run(["clone", "-q", "ark::nosuch", "c1"], cwd: ws.path)
        #expect(!unknown.ok)
        #expect(unknown.stderr.split(separator: "\n").filter { $0.contains("ark:") }.count == 1, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("nosuch"))
        #expect(!FileManager.default.fileExists(atPath: ws.dir.file("c1")))
        let noConfig = try git.run(["clone", "-q", "ark::/nonexistent/ark.toml#proj", "c2"], cwd: ws.path)
        #expect(!noConfig.ok)
        #expect(noConfig.stderr.contains("/nonexistent/ark.toml"), "\(noConfig.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.dir.file("c2")))
        let empty = TempDir("ark-no-store")
        let noStore = try git.run(["clone", "-q", "ark::proj", ws.dir.file("c3")], cwd: empty.path)
        #expect(!noStore.ok)
        #expect(noStore.stderr.contains("no ark store"), "\(noStore.stderr)")
    }

    static func raw(_ hex: String) -> [UInt8] {
        var out: [UInt8] = [], s = Array(hex.utf8)[...]
        while s.count >= 2 { out.append(UInt8(String(decoding: s.prefix(2), as: UTF8.self), radix: 16)!); s = s.dropFirst(2) }
        return out
    }
}
