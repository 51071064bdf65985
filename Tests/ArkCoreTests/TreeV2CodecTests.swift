import Testing

@testable import ArkCore

/// Tree format v2 (names as bytes, permission bits, mtimes): round trips, the choice between
/// v1 and v2, a table of encodings the decoder refuses, and random mutations.
@Suite struct TreeV2CodecTests {
    static let someID = ObjectID(bytes: (0..<32).map { UInt8($0) })

    @Test func v2TreeRoundTripsExactly() throws {
        var rng = SeededRandom(seed: 77)
        for n in [1, 5, 40] {
            let tree = try ObjectSamples.treeV2(&rng, entries: n)
            let bytes = tree.encoded()
            #expect(bytes[0] == 2)
            let decoded = try Tree(decoding: bytes)
            #expect(decoded == tree)
            #expect(decoded.entries.map(\.mode) == tree.entries.map(\.mode))
            #expect(decoded.entries.map(\.mtime) == tree.entries.map(\.mtime))
            #expect(decoded.encoded() == bytes)
        }
    }

    @Test func v1TreesKeepTheirEncodingAndIds() throws {
        var rng = SeededRandom(seed: 1)
        let tree = try ObjectSamples.tree(&rng, entries: 40)
        #expect(tree.formatVersion == 1)
        let bytes = tree.encoded()
        #expect(bytes[0] == 1)
        let decoded = try Tree(decoding: bytes)
        #expect(decoded.entries.allSatisfy { $0.mode == nil && $0.mtime == nil })
        #expect(decoded.encoded() == bytes)
    }

    @Test func latin1NameIsStoredExactly() throws {
        let name = FileName(bytes: [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74])
        var e = Tree.Entry.file(name, manifest: Self.someID, size: 3)
        e.mode = 0o600
        e.mtime = .init(seconds: -86_400, nanoseconds: 123_456_789)
        let tree = try Tree(entries: [e, .file("caf\u{e9}.txt", manifest: Self.someID, size: 1)])
        let decoded = try Tree(decoding: tree.encoded())
        #expect(decoded.entries.count == 2)
        #expect(decoded.entry(named: name)?.mode == 0o600)
        #expect(decoded.entry(named: name)?.mtime == e.mtime)
        #expect(decoded.entry(named: "caf\u{e9}.txt")?.size == 1)
        #expect(name.description == #""caf\351.txt""#)
        #expect(NameEscaping.unquoted(Array(#""caf\351.txt""#.utf8)) == name.bytes)
    }

    @Test func modeAndMtimeChangeTheId() throws {
        let plain = try Tree(entries: [.file("a", manifest: Self.someID, size: 1)])
        var e = Tree.Entry.file("a", manifest: Self.someID, size: 1)
        e.mode = 0o644
        let withMode = try Tree(entries: [e])
        e.mtime = .init(seconds: 1)
        let withTime = try Tree(entries: [e])
        let ids = Set([plain, withMode, withTime].map { ObjectHasher.hash(.tree, $0.encoded()) })
        #expect(ids.count == 3)
    }

    @Test(arguments: [(Tree.Kind.file, UInt16(0o755)), (.executable, 0o644), (.symlink, 0o777), (.submodule, 0o755), (.directory, 0o10000)])
    func invalidModesAreRefusedWhenBuilt(kind: Tree.Kind, mode: UInt16) {
        var e = Tree.Entry(
            name: "x", kind: kind, id: kind == .symlink || kind == .submodule ? nil : Self.someID, size: 1,
            target: kind == .symlink ? Array("t".utf8) : kind == .submodule ? Array("ab".utf8) : nil)
        e.mode = mode
        #expect(throws: ArkError.self) { try Tree(entries: [e]) }
    }

    // MARK: rejection table

    struct RawEntry {
        var kind: Tree.Kind = .file
        var name: [UInt8] = Array("a".utf8)
        var flags: UInt8 = 1
        var mode: [UInt8] = [0xa4, 0x03]  // varint 0o644
        var mtime: [UInt8] = []
        var gitMode: String = ""
    }

    static func v2(_ entries: [RawEntry], version: UInt8 = 2) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version); w.u8(ObjectKind.tree.rawValue)
        w.varint(UInt64(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue); w.data(e.name); w.u8(e.flags)
            w.bytes += (e.flags & 1 != 0 ? e.mode : []) + (e.flags & 2 != 0 ? e.mtime : [])
            if e.flags & 4 != 0 { w.string(e.gitMode) }
            switch e.kind {
            case .symlink: w.string("t")
            case .submodule: w.string("ab")
            default: w.id(someID); w.varint(1)
            }
        }
        return w.bytes
    }

    static func varint(_ v: UInt64) -> [UInt8] { var w = ByteWriter(); w.varint(v); return w.bytes }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var testDescription: String { label }
    }

    static let valid = v2([RawEntry(), RawEntry(name: [0x62, 0xe9], flags: 2, mtime: [0x02, 0x00])])

    static var cases: [Case] {
        var c: [Case] = []
        func add(_ label: String, _ b: [UInt8]) { c.append(Case(label: label, bytes: b)) }
        for n in 0..<valid.count { add("truncated to \(n)", Array(valid.prefix(n))) }
        add("trailing byte", valid + [0])
        add("version 3", v2([RawEntry()], version: 3))
        add("v2 without anything v1 cannot write", v2([RawEntry(flags: 0)]))
        add("unknown flag bit", v2([RawEntry(flags: 9)]))
        add("canonical git mode stored", v2([RawEntry(flags: 4, gitMode: "100644")]))
        add("canonical directory git mode stored", v2([RawEntry(kind: .directory, flags: 4, gitMode: "40000")]))
        add("git mode not octal", v2([RawEntry(flags: 4, gitMode: "10066a")]))
        add("git mode of 8 digits", v2([RawEntry(flags: 4, gitMode: "01006640")]))
        add("empty git mode", v2([RawEntry(flags: 4, gitMode: "")]))
        add("git mode of a directory on a file", v2([RawEntry(flags: 4, gitMode: "040000")]))
        add("git mode of a gitlink on a file", v2([RawEntry(flags: 4, gitMode: "160000")]))
        add("executable git mode on a plain file", v2([RawEntry(flags: 4, gitMode: "100775")]))
        add("file git mode on a directory", v2([RawEntry(kind: .directory, flags: 4, gitMode: "100664")]))
        add("mode above 12 bits", v2([RawEntry(mode: varint(0o10000))]))
        add("non-minimal mode", v2([RawEntry(mode: [0x80, 0x00])]))
        add("file with an x bit", v2([RawEntry(mode: varint(0o744))]))
        add("executable without an x bit", v2([RawEntry(kind: .executable, mode: varint(0o644))]))
        add("mode on a symlink", v2([RawEntry(kind: .symlink, mode: varint(0o777))]))
        add("mode on a submodule", v2([RawEntry(kind: .submodule, mode: varint(0o755))]))
        add("nanoseconds of a whole second", v2([RawEntry(flags: 3, mtime: [0x00] + varint(1_000_000_000))]))
        add("mtime missing", v2([RawEntry(flags: 3, mtime: [])]))
        add("out of order bytewise", v2([RawEntry(name: [0xe9]), RawEntry(name: [0x80])]))
        add("duplicate byte name", v2([RawEntry(name: [0xe9]), RawEntry(name: [0xe9])]))
        for bad: [UInt8] in [[], [0x2e], [0x2e, 0x2e], [0x61, 0x2f], [0x61, 0x00], Array(repeating: 0xe9, count: 1025)] {
            add("invalid name \(bad.prefix(4))", v2([RawEntry(name: bad)]))
        }
        add(
            "v1 with a name that is not UTF-8",
            v2([RawEntry(name: [0xe9], flags: 0)], version: 1).enumerated().filter { $0.offset != 6 }.map(\.element))
        return c
    }

    @Test func validSampleDecodes() throws {
        let t = try Tree(decoding: Self.valid)
        #expect(t.entries.map(\.name) == [FileName("a"), FileName(bytes: [0x62, 0xe9])])
        #expect(t.entries[0].mode == 0o644 && t.entries[1].mtime == .init(seconds: 1))
        #expect(t.encoded() == Self.valid)
    }

    @Test(arguments: cases)
    func rejected(_ c: Case) {
        let error = #expect(throws: ArkError.self) { _ = try Tree(decoding: c.bytes) }
        #expect(error?.code == .malformed, "\(error?.description ?? "no error")")
        #expect(error?.message.hasPrefix("malformed tree") == true, "\(error?.description ?? "")")
    }

    @Test func mutatedV2Encodings() throws {
        var rng = SeededRandom(seed: 0xF1DE_2222)
        let samples = try (0..<12).map { try ObjectSamples.treeV2(&rng, entries: $0 + 1).encoded() } + [Self.valid]
        var accepted = 0, rejected = 0
        for iteration in 0..<4000 {
            let mutated = CodecFuzzTests.mutate(samples[iteration % samples.count], &rng)
            if let again = try CodecFuzzTests.reencode(.tree, mutated) {
                #expect(again == mutated, "iteration \(iteration): accepted bytes re-encode differently")
                accepted += 1
            } else {
                rejected += 1
            }
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }

    // MARK: git modes

    @Test func gitModesRoundTripAndChangeTheId() throws {
        var plain = Tree.Entry.file("group.txt", manifest: Self.someID, size: 3)
        let v1 = try Tree(entries: [plain, .directory("dir", tree: Self.someID, size: 3)])
        #expect(v1.formatVersion == 1)
        plain.gitMode = "100664"
        var dir = Tree.Entry.directory("dir", tree: Self.someID, size: 3)
        dir.gitMode = "040000"
        let v2 = try Tree(entries: [plain, dir])
        #expect(v2.formatVersion == 2)
        let decoded = try Tree(decoding: v2.encoded())
        #expect(decoded == v2)
        #expect(decoded.entries.map(\.gitMode) == ["040000", "100664"])
        #expect(decoded.encoded() == v2.encoded())
        #expect(v1.encoded() != v2.encoded())
    }

    @Test(arguments: [(Tree.Kind.file, "100644"), (.directory, "40000"), (.executable, "1007a5"), (.symlink, "12345678"), (.submodule, "")])
    func invalidGitModesAreRefusedWhenBuilt(kind: Tree.Kind, gitMode: String) {
        var e = Tree.Entry(
            name: "x", kind: kind, id: kind == .symlink || kind == .submodule ? nil : Self.someID, size: 1,
            target: kind == .symlink ? Array("t".utf8) : kind == .submodule ? Array("ab".utf8) : nil)
        e.gitMode = gitMode
        #expect(throws: ArkError.self) { try Tree(entries: [e]) }
    }
}
