import Testing

@testable import ArkCore

@Suite struct CodecRoundTripTests {
    @Test func treeWithEveryEntryKind() throws {
        var rng = SeededRandom(seed: 1)
        let tree = try ObjectSamples.tree(&rng, entries: 40)
        #expect(Set(tree.entries.map(\.kind)) == Set(Tree.Kind.allCases))
        let bytes = tree.encoded()
        let decoded = try Tree(decoding: bytes)
        #expect(decoded == tree)
        #expect(decoded.encoded() == bytes)
        #expect(ObjectHasher.hash(.tree, decoded.encoded()) == ObjectHasher.hash(.tree, bytes))
        // Entries come back sorted bytewise whatever order they were given in.
        let names = decoded.entries.map(\.name.bytes)
        #expect(zip(names, names.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
    }

    @Test func emptyTree() throws {
        let tree = try Tree(entries: [])
        let bytes = tree.encoded()
        #expect(bytes == [ObjectHeader.version, ObjectKind.tree.rawValue, 0])
        #expect(try Tree(decoding: bytes) == tree)
    }

    @Test func canonicallyEquivalentNamesAreDistinct() throws {
        // Linux file names are bytes: "é" (NFC) and "e" + combining acute (NFD) are two files.
        let nfc = "\u{e9}", nfd = "e\u{301}"
        var rng = SeededRandom(seed: 9)
        let a = ObjectSamples.id(&rng), b = ObjectSamples.id(&rng)
        let tree = try Tree(entries: [.file(FileName(nfc), manifest: a, size: 1), .file(FileName(nfd), manifest: b, size: 2)])
        #expect(tree.entries.count == 2)
        #expect(tree.entry(named: nfc)?.id == a)
        #expect(tree.entry(named: nfd)?.id == b)
        #expect(try Tree(decoding: tree.encoded()).encoded() == tree.encoded())
    }

    @Test(arguments: [0, 1, 2, 100, 8192])
    func manifest(entries n: Int) throws {
        var rng = SeededRandom(seed: UInt64(n) + 7)
        for level in [UInt8(0), 2] {
            let m = ObjectSamples.manifest(&rng, entries: n, level: level)
            let decoded = try Manifest(decoding: m.bytes)
            #expect(decoded == m)
            #expect(decoded.entries == m.entries)
            #expect(decoded.level == level)
            #expect(Manifest(level: decoded.level, entries: decoded.entries).bytes == m.bytes)
            #expect(decoded.totalSize == m.entries.reduce(0) { $0 + $1.length })
        }
    }

    @Test(arguments: [(0, false, false), (1, true, false), (1, false, true), (2, true, true), (5, false, false)])
    func commit(parents: Int, change: Bool, source: Bool) throws {
        var rng = SeededRandom(seed: UInt64(parents * 4) + (change ? 1 : 0) + (source ? 2 : 0))
        let c = ObjectSamples.commit(&rng, parents: parents, change: change, source: source)
        let bytes = c.encoded()
        let decoded = try Commit(decoding: bytes)
        #expect(decoded == c)
        #expect(decoded.parents.count == parents)
        #expect(decoded.changeID == c.changeID && decoded.sourceID == c.sourceID)
        #expect(decoded.encoded() == bytes)
        #expect(ObjectHasher.hash(.commit, decoded.encoded()) == ObjectHasher.hash(.commit, bytes))
    }

    @Test func commitKeepsItsGitBytes() throws {
        var rng = SeededRandom(seed: 77)
        let plain = ObjectSamples.commit(&rng, parents: 2, change: true, source: true)
        var withRaw = plain
        withRaw.author = Commit.Signature(name: "A", email: "a@x", time: 1, tzOffsetMinutes: 13 * 60 + 45)
        withRaw.committer = Commit.Signature(name: "C", email: "c@x", time: 2, tzOffsetMinutes: 0)
        withRaw.message = "Caf\u{e9}"
        withRaw.gitRaw =
            Array("author A <a@x> 1 +1345\ncommitter C  <c@x> 2 -0000\nchange-id \(plain.changeID!)\nencoding ISO-8859-1\n\nCaf".utf8) + [
                0xe9
            ]
        let decoded = try Commit(decoding: withRaw.encoded())
        #expect(decoded == withRaw)
        #expect(decoded.gitRaw == withRaw.gitRaw)
        #expect(decoded.encoded() == withRaw.encoded())
        #expect(withRaw.encoded() != plain.encoded())
        // Without git bytes the encoding is what it always was: flags 3, then the two tokens.
        #expect(try Commit(decoding: plain.encoded()).gitRaw == nil)
        // Git bytes always start with the author line (the importer refuses anything else).
        for bad in [[UInt8](), Array("encoding x\nauthor A <a@x> 1 +0000\n\nm".utf8)] {
            var odd = plain
            odd.gitRaw = bad
            #expect(throws: ArkError.self) { try Commit(decoding: odd.encoded()) }
        }
    }

    @Test func differentContentDifferentIDs() throws {
        var rng = SeededRandom(seed: 3)
        let c = ObjectSamples.commit(&rng, parents: 1, change: true, source: false)
        var d = c
        d.message += "."
        #expect(ObjectHasher.hash(.commit, c.encoded()) != ObjectHasher.hash(.commit, d.encoded()))
        var e = c
        e.changeID = nil
        #expect(c.encoded() != e.encoded())
    }
}

/// Tree(entries:) must refuse what Tree(decoding:) would refuse, so a stored tree always reads back.
@Suite struct TreeValidationTests {
    static let id = ObjectID(bytes: [UInt8](repeating: 1, count: 32))

    @Test(arguments: [
        Tree.Entry.symlink("l", target: ""),
        .symlink("l", target: "a\0b"),
        .symlink("l", target: String(repeating: "t", count: ObjectLimits.maxSymlinkTarget + 1)),
        .submodule("s", commit: ""),
        .submodule("s", commit: "not-hex"),
        .submodule("s", commit: String(repeating: "a", count: 65)),
        .file("", manifest: id, size: 1),
        .file("..", manifest: id, size: 1),
        .directory("a/b", tree: id, size: 1)
    ])
    func undecodableEntryIsRefused(_ entry: Tree.Entry) {
        let error = #expect(throws: ArkError.self) { _ = try Tree(entries: [entry]) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func longestValidTargetsRoundTrip() throws {
        let tree = try Tree(entries: [
            .symlink("l", target: String(repeating: "t", count: ObjectLimits.maxSymlinkTarget)),
            .submodule("s", commit: String(repeating: "f", count: 64))
        ])
        #expect(try Tree(decoding: tree.encoded()) == tree)
    }
}
