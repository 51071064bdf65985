import Testing

@testable import ArkCore

/// Hand-built encodings that every decoder must refuse with `.malformed`.
@Suite struct CodecRejectionTests {
    enum Decoder: String, Sendable { case tree, manifest, commit }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var decoder: Decoder
        var bytes: [UInt8]
        var testDescription: String { "\(decoder.rawValue): \(label)" }
    }

    static let someID = ObjectID(bytes: (0..<32).map { UInt8($0) })

    static func header(_ kind: ObjectKind, version: UInt8 = ObjectHeader.version) -> ByteWriter {
        var w = ByteWriter()
        w.u8(version); w.u8(kind.rawValue)
        return w
    }

    /// A tree from raw (kind, name) file entries, written in the given order.
    static func tree(_ names: [String], count: UInt64? = nil) -> [UInt8] {
        var w = header(.tree)
        w.varint(count ?? UInt64(names.count))
        for n in names { w.u8(Tree.Kind.file.rawValue); w.string(n); w.id(someID); w.varint(1) }
        return w.bytes
    }

    static func manifest(level: UInt8 = 0, total: UInt64, ends: [UInt64], count: UInt64? = nil) -> [UInt8] {
        var w = header(.manifest)
        w.u8(level); w.varint(total); w.varint(count ?? UInt64(ends.count))
        for e in ends { w.id(someID); w.u64(e) }
        return w.bytes
    }

    struct CommitParts {
        var parents: [UInt8] = [0]
        var tz: Int64 = 0
        var messageLength: UInt64? = nil
        var flags: UInt8 = 0
        var tokens: [String] = []
        /// Bytes after the tokens (the git bytes of flag bit 2).
        var after: [UInt8] = []
    }

    static func commit(_ p: CommitParts = CommitParts()) -> [UInt8] {
        var w = header(.commit)
        w.id(someID)
        w.bytes += p.parents
        for _ in 0..<2 { w.string("n"); w.string("e"); w.svarint(1); w.svarint(p.tz) }
        if let n = p.messageLength { w.varint(n) } else { w.string("msg") }
        w.u8(p.flags)
        for t in p.tokens { w.string(t) }
        w.bytes += p.after
        w.id(someID)
        return w.bytes
    }

    static let validTree = tree(["a", "b"])
    static let validManifest = manifest(total: 10, ends: [4, 10])
    static let validCommit = commit()

    static var cases: [Case] {
        var c: [Case] = []
        func add(_ label: String, _ d: Decoder, _ b: [UInt8]) { c.append(Case(label: label, decoder: d, bytes: b)) }
        // Truncation at every length of each valid encoding.
        for (d, valid) in [(Decoder.tree, validTree), (.manifest, validManifest), (.commit, validCommit)] {
            for n in 0..<valid.count { add("truncated to \(n)", d, Array(valid.prefix(n))) }
            add("trailing byte", d, valid + [0])
            add("trailing bytes", d, valid + [1, 2, 3])
            var v = valid; v[0] = d == .tree ? 3 : 2; add("unknown version", d, v)
            v = valid; v[0] = 0; add("version 0", d, v)
            v = valid; v[1] = 9; add("unknown kind", d, v)
        }
        add("tree with commit kind", .tree, header(.commit).bytes + [0])
        add("manifest with tree kind", .manifest, header(.tree).bytes + [0, 0, 0])
        // Tree entries.
        add("out of order", .tree, tree(["b", "a"]))
        add("out of order bytewise", .tree, tree(["a", "Z"]))
        add("duplicate name", .tree, tree(["a", "a"]))
        for bad in ["", ".", "..", "a/b", "/", "a\0b", String(repeating: "x", count: 1025)] {
            add("invalid name \(bad.debugDescription.prefix(20))", .tree, tree([bad]))
        }
        add("count larger than entries", .tree, tree(["a"], count: 2))
        add("count smaller than entries", .tree, tree(["a", "b"], count: 1))
        add("oversized count", .tree, tree([], count: 1 << 40))
        add("count above limit", .tree, tree([], count: UInt64(ObjectLimits.maxTreeEntries) + 1))
        do {
            var w = header(.tree); w.varint(1); w.u8(Tree.Kind.file.rawValue); w.varint(1 << 33); w.bytes += [0x61]
            add("oversized name length", .tree, w.bytes)
        }
        for k: UInt8 in [0, 6, 255] {
            var w = header(.tree); w.varint(1); w.u8(k); w.string("a"); w.id(someID); w.varint(1)
            add("unknown entry kind \(k)", .tree, w.bytes)
        }
        do {
            var w = header(.tree); w.varint(1); w.u8(Tree.Kind.symlink.rawValue); w.string("l"); w.string("")
            add("empty symlink target", .tree, w.bytes)
            w = header(.tree); w.varint(1); w.u8(Tree.Kind.symlink.rawValue); w.string("l"); w.string("a\0b")
            add("NUL in symlink target", .tree, w.bytes)
            w = header(.tree); w.varint(1); w.u8(Tree.Kind.symlink.rawValue); w.string("l"); w.string(String(repeating: "t", count: 4096))
            add("symlink target too long", .tree, w.bytes)
            w = header(.tree); w.varint(1); w.u8(Tree.Kind.submodule.rawValue); w.string("s"); w.string("xyz")
            add("submodule not hex", .tree, w.bytes)
            w = header(.tree); w.varint(1); w.u8(Tree.Kind.file.rawValue); w.data([0x61, 0xff]); w.id(someID); w.varint(1)
            add("name not UTF-8", .tree, w.bytes)
        }
        // Non-minimal varints: the count 1 as two bytes, 0 as two bytes, and an 11-byte varint.
        add("non-minimal count", .tree, header(.tree).bytes + [0x81, 0x00] + Array(tree(["a"]).dropFirst(3)))
        add("non-minimal zero", .tree, header(.tree).bytes + [0x80, 0x00])
        add("varint too long", .tree, header(.tree).bytes + Array(repeating: 0xff, count: 10) + [0x01])
        add("varint overflow", .tree, header(.tree).bytes + Array(repeating: 0xff, count: 9) + [0x02])
        add("non-minimal manifest size", .manifest, header(.manifest).bytes + [0, 0x8a, 0x00, 2] + Array(validManifest.dropFirst(5)))
        // Manifests.
        add("level above max", .manifest, manifest(level: 4, total: 10, ends: [4, 10]))
        add("count above limit", .manifest, manifest(total: 1, ends: [], count: UInt64(ObjectLimits.maxManifestEntries) + 1))
        add("oversized count", .manifest, manifest(total: 1, ends: [], count: 1 << 50))
        add("count with missing records", .manifest, manifest(total: 10, ends: [4, 10], count: 3))
        add("size disagrees with ends", .manifest, manifest(total: 11, ends: [4, 10]))
        add("zero-length entry", .manifest, manifest(total: 10, ends: [4, 4, 10]))
        add("ends go backwards", .manifest, manifest(total: 10, ends: [6, 4, 10]))
        add("empty with size", .manifest, manifest(total: 5, ends: []))
        add(
            "chunk over limit", .manifest,
            manifest(total: UInt64(ObjectLimits.maxChunkSize) + 1, ends: [UInt64(ObjectLimits.maxChunkSize) + 1]))
        // Commits.
        add("parent count beyond bytes", .commit, commit(CommitParts(parents: [5])))
        add("oversized parent count", .commit, commit(CommitParts(parents: [0xff, 0xff, 0xff, 0x7f])))
        add("non-minimal parent count", .commit, commit(CommitParts(parents: [0x80, 0x00])))
        add("timezone out of range", .commit, commit(CommitParts(tz: 1441)))
        add("timezone far out of range", .commit, commit(CommitParts(tz: 70000)))
        add("oversized message length", .commit, commit(CommitParts(messageLength: UInt64(ObjectLimits.maxMessageBytes) + 1)))
        add("huge message length", .commit, commit(CommitParts(messageLength: 1 << 62)))
        add("unknown flag", .commit, commit(CommitParts(flags: 8)))
        add(
            "oversized git bytes length", .commit,
            commit(CommitParts(flags: 4, after: TreeV2CodecTests.varint(UInt64(ObjectLimits.maxGitCommitBytes) + 1))))
        add("git bytes beyond the end", .commit, commit(CommitParts(flags: 4, after: TreeV2CodecTests.varint(100))))
        add("change id flag without id", .commit, commit(CommitParts(flags: 1)))
        add("uppercase change id", .commit, commit(CommitParts(flags: 1, tokens: ["ABC"])))
        add("empty change id", .commit, commit(CommitParts(flags: 1, tokens: [""])))
        add("source id too long", .commit, commit(CommitParts(flags: 2, tokens: [String(repeating: "a", count: 65)])))
        return c
    }

    @Test func validSamplesDecode() throws {
        _ = try Tree(decoding: Self.validTree)
        _ = try Manifest(decoding: Self.validManifest)
        let c = try Commit(decoding: Self.validCommit)
        #expect(c.message == "msg")
        _ = try Commit(decoding: Self.commit(CommitParts(tz: 1440, flags: 3, tokens: ["abc", "0f"])))
    }

    @Test(arguments: cases)
    func rejected(_ c: Case) {
        let error = #expect(throws: ArkError.self) {
            switch c.decoder {
            case .tree: _ = try Tree(decoding: c.bytes)
            case .manifest: _ = try Manifest(decoding: c.bytes)
            case .commit: _ = try Commit(decoding: c.bytes)
            }
        }
        #expect(error?.code == .malformed, "\(error?.description ?? "no error")")
        #expect(error?.message.hasPrefix("malformed \(c.decoder.rawValue)") == true, "\(error?.description ?? "")")
    }
}
