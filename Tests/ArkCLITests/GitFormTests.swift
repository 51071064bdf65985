import ArkCore
import Foundation
import Testing

/// ark's SHA-1, git forms and pack writer against git itself.
@Suite struct GitFormTests {
    /// Lengths around SHA-1's 64-byte blocks and its 56-byte padding boundary.
    @Test(arguments: [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 100_003])
    func sha1MatchesGitHashObject(length: Int) throws {
        let dir = TempDir("ark-sha1")
        let g = try GitFixture(dir.file("repo"))
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = String(decoding: try g.run(["hash-object", "--stdin"], stdin: Data(bytes)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(HexCodec.encode(GitSHA1.objectID(.blob, bytes)) == expected)
        // Fed in uneven pieces, the hash is the same.
        var h = GitSHA1()
        h.update(GitSHA1.header(.blob, size: UInt64(length)))
        var i = 0, step = 1
        while i < bytes.count { let n = min(step, bytes.count - i); h.update(bytes[i..<i + n]); i += n; step = step * 3 + 1 }
        #expect(HexCodec.encode(h.finish()) == expected)
    }

    @Test func packWriterOutputIsReadByIndexPack() throws {
        let dir = TempDir("ark-pack")
        let g = try GitFixture(dir.file("repo"))
        let blobs: [[UInt8]] = [[], Array("hello\n".utf8), (0..<300_000).map { UInt8(truncatingIfNeeded: $0 % 251) }]
        var pack: [UInt8] = []
        let writer = try GitPackWriter(count: blobs.count) { pack += $0 }
        for b in blobs { try writer.object(.blob, b) }
        try writer.finish()
        try g.run(["index-pack", "--stdin"], stdin: Data(pack))
        for b in blobs {
            let id = HexCodec.encode(GitSHA1.objectID(.blob, b))
            #expect(try g.run(["cat-file", "blob", id]) == Data(b))
        }
    }

    /// Deltas (`GitDelta`, sent as REF_DELTA): git rebuilds each object from its base, whatever
    /// changed (an insertion, a change at either end, a copy longer than one instruction holds),
    /// with bases before and after their deltas in the pack; a delta that would not pay is nil.
    @Test(arguments: ["insert in the middle", "change at the start", "append", "copy beyond 16 MiB"])
    func deltasAreReadByIndexPack(_ label: String) throws {
        let size = label == "copy beyond 16 MiB" ? 17 << 20 : 300_000
        let base = (0..<size).map { UInt8(truncatingIfNeeded: ($0 * 7) % 251) }
        let target: [UInt8]
        switch label {
        case "insert in the middle": target = Array(base[..<1000]) + Array("inserted line\n".utf8) + Array(base[1000...])
        case "change at the start": target = [0xff, 0xfe] + Array(base[2...])
        case "append": target = base + Array("tail".utf8)
        default: target = Array(base[..<10]) + [7] + Array(base[10...])
        }
        let dir = TempDir("ark-delta")
        let g = try GitFixture(dir.file("repo"))
        let delta = try #require(GitDelta.encode(base: base, target: target), "\(label): no delta")
        #expect(delta.count < 64, "\(label): delta of \(delta.count) bytes")
        let baseID = GitSHA1.objectID(.blob, base), targetID = GitSHA1.objectID(.blob, target)
        for baseFirst in [true, false] {
            var pack: [UInt8] = []
            let writer = try GitPackWriter(count: 2) { pack += $0 }
            let deflated = try GitDeflater().deflate(delta)
            if baseFirst { try writer.object(.blob, base) }
            try writer.deflatedDelta(base: baseID, size: UInt64(delta.count), deflated)
            if !baseFirst { try writer.object(.blob, base) }
            try writer.finish()
            try g.run(["index-pack", "--stdin"], stdin: Data(pack))
            #expect(try g.run(["cat-file", "blob", HexCodec.encode(targetID)]) == Data(target), "\(label)")
        }
        #expect(GitDelta.encode(base: base, target: base.reversed()) == nil)
        #expect(GitDelta.encode(base: [], target: target) == nil)
    }

    /// A directory's next version's git form is its previous form with the changed ids
    /// replaced: equal to the form built whole, for changed files and subdirectories, a
    /// changed mode (built whole), a renamed entry (another shape) and entries out of order.
    @Test func treeFormsReuseThePreviousVersion() throws {
        func id(_ n: UInt8) -> ObjectID { ObjectID(bytes: [UInt8](repeating: n, count: 32)) }
        func git(_ e: Tree.Entry) -> [UInt8] { [UInt8](repeating: e.id.map { UInt8(truncatingIfNeeded: $0.w0) } ?? 9, count: 20) }
        func tree(_ a: UInt8, _ d: UInt8, exec: Bool = false, name: String = "b.txt") throws -> Tree {
            try Tree(entries: [
                .file(FileName("a.txt"), manifest: id(a), size: 1, executable: exec),
                .file(FileName(name), manifest: id(2), size: 1), .directory(FileName("d"), tree: id(d), size: 0),
                .file(FileName("e.c"), manifest: id(3), size: 1)
            ])
        }
        var forms = GitTreeForms()
        var reused = 0
        for t in [
            try tree(1, 5), try tree(4, 5), try tree(4, 6), try tree(7, 8, exec: true), try tree(7, 8, name: "c.txt"),
            try tree(1, 1, exec: true)
        ] {
            let shape = GitFetchPack.shape(t)
            let (form, previous) = try forms.form(t, shape: shape, id: git)
            #expect(form == t.gitForm(id: git))
            if previous != nil { reused += 1 }
        }
        #expect(reused == 3)
        // "d" (a directory) sorts after "d-x" and "d.c" in git's order, before them in stored order.
        func unordered(_ n: UInt8, _ m: UInt8) throws -> Tree {
            try Tree(entries: [
                .directory(FileName("d"), tree: id(n), size: 0), .file(FileName("d-x"), manifest: id(m), size: 1),
                .file(FileName("d.c"), manifest: id(2), size: 1), .file(FileName("z"), manifest: id(m), size: 1)
            ])
        }
        #expect(!GitTreeForms.inGitOrder(try unordered(1, 2).entries))
        reused = 0
        for t in [try unordered(1, 2), try unordered(3, 2), try unordered(3, 4), try unordered(5, 6)] {
            let (form, previous) = try forms.form(t, shape: GitFetchPack.shape(t), id: git)
            #expect(form == t.gitForm(id: git))
            if previous != nil { reused += 1 }
        }
        #expect(reused == 3)
    }

    /// Directories sort as if their names ended in '/': "a" (a directory) after "a-c" and
    /// "a.b", before "a0"; the git form's id is the one `git mktree` gives the same entries.
    @Test func treeGitFormMatchesMktree() throws {
        let dir = TempDir("ark-tree-order")
        let g = try GitFixture(dir.file("repo"))
        let zero = ObjectID(bytes: [UInt8](repeating: 0, count: 32))
        let blob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        let files = ["a-c", "a.b", "a0", "b", "ab.", "a!"], dirs = ["a", "ab", "b.d", "b-"]
        let t = try Tree(
            entries: files.map { Tree.Entry.file(FileName($0), manifest: zero, size: 0) }
                + dirs.map { Tree.Entry.directory(FileName($0), tree: zero, size: 0) })
        let form = t.gitForm { HexCodec.decode($0.kind == .directory ? tree : blob)! }
        let input = (files.map { "100644 blob \(blob)\t\($0)\n" } + dirs.map { "040000 tree \(tree)\t\($0)\n" }).joined()
        let expected = String(decoding: try g.run(["mktree", "--missing"], stdin: Data(input.utf8)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(HexCodec.encode(GitSHA1.objectID(.tree, form)) == expected)
        #expect(t.gitOrdered.map { $0.name.lossyString } == ["a!", "a-c", "a.b", "a", "a0", "ab.", "ab", "b", "b-", "b.d"])
    }

    @Test func arkCommitGitFormIsFixed() throws {
        let zero = ObjectID(bytes: [UInt8](repeating: 0, count: 32))
        let c = Commit(
            tree: zero, parents: [zero],
            author: .init(name: "Ann <A>", email: "ann@example.org", time: 1_700_000_000, tzOffsetMinutes: -90),
            committer: .init(name: "Carl", email: "carl@example.org", time: 1_700_000_060, tzOffsetMinutes: 825),
            message: "made by ark\n", changeID: "kkkkzzzz", node: zero)
        let form = c.gitForm(tree: [UInt8](repeating: 0xab, count: 20), parents: [[UInt8](repeating: 0xcd, count: 20)])
        #expect(
            String(decoding: form, as: UTF8.self) == """
                tree \(String(repeating: "ab", count: 20))
                parent \(String(repeating: "cd", count: 20))
                author Ann A <ann@example.org> 1700000000 -0130
                committer Carl <carl@example.org> 1700000060 +1345
                change-id kkkkzzzz

                made by ark

                """)
    }
}
