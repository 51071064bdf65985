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
        var message = "msg"
        var tokens: [String] = []
        /// Bytes after the tokens (the git bytes of flag bit 2).
        var after: [UInt8] = []
    }

    static func commit(_ p: CommitParts = CommitParts()) -> [UInt8] {
        var w = header(.commit)
        w.id(someID)
        w.bytes += p.parents
        for _ in 0..<2 { w.string("n"); w.string("e"); w.svarint(1); w.svarint(p.tz) }
        if let n = p.messageLength { w.varint(n) } else { w.string(p.message) }
        w.u8(p.flags)
        for t in p.tokens { w.string(t) }
        w.bytes += p.after
        w.id(someID)
        return w.bytes
    }

    /// The git bytes of flag bit 2, length first; a Latin-1 message is written as Latin-1 bytes.
    static func gitBytes(_ raw: String) -> [UInt8] {
        let bytes = raw.contains("encoding ISO-8859-1") ? raw.unicodeScalars.map { UInt8($0.value) } : Array(raw.utf8)
        return TreeV2CodecTests.varint(UInt64(bytes.count)) + bytes
    }

    /// Git bytes that say what `commit()` says in ark fields.
    static let agreeingGitBytes = "author n <e> 1 +0000\ncommitter n <e>   1 +0000\ngpgsig x\n y\n\nmsg"

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
        // Git bytes that say something other than the ark fields (author and committer "n <e> 1 +0000", message "msg").
        for (label, raw) in [
            ("git author name disagrees", "author m <e> 1 +0000\ncommitter n <e> 1 +0000\n\nmsg"),
            ("git author email disagrees", "author n <f> 1 +0000\ncommitter n <e> 1 +0000\n\nmsg"),
            ("git author time disagrees", "author n <e> 2 +0000\ncommitter n <e> 1 +0000\n\nmsg"),
            ("git author zone disagrees", "author n <e> 1 +0100\ncommitter n <e> 1 +0000\n\nmsg"),
            ("git committer disagrees", "author n <e> 1 +0000\ncommitter n <e> 1 -0030\n\nmsg"),
            ("git later author line disagrees", "author n <e> 1 +0000\ncommitter n <e> 1 +0000\nauthor x <e> 1 +0000\n\nmsg"),
            ("git message disagrees", "author n <e> 1 +0000\ncommitter n <e> 1 +0000\n\nmsg!"),
            ("git message missing", "author n <e> 1 +0000\ncommitter n <e> 1 +0000\n"),
            ("git message in Latin-1 disagrees", "author n <e> 1 +0000\ncommitter n <e> 1 +0000\nencoding ISO-8859-1\n\nms\u{e9}"),
            ("git change id the ark fields lack", "author n <e> 1 +0000\ncommitter n <e> 1 +0000\nchange-id kkkk\n\nmsg"),
            ("git bytes without a committer", "author n <e> 1 +0000\n\nmsg"),
            ("git author without an email", "author n 1 +0000\ncommitter n <e> 1 +0000\n\nmsg"),
            ("git author with a bad zone", "author n <e> 1 +99\ncommitter n <e> 1 +0000\n\nmsg")
        ] {
            add(label, .commit, commit(CommitParts(flags: 4, after: gitBytes(raw))))
        }
        // Canonically equal is not equal: a decomposed "é" in the git bytes against a composed one.
        add(
            "git message differs only in normalization", .commit,
            commit(
                CommitParts(
                    flags: 4, message: "caf\u{e9}", after: gitBytes("author n <e> 1 +0000\ncommitter n <e> 1 +0000\n\ncafe\u{301}"))))
        add("change id the git bytes lack", .commit, commit(CommitParts(flags: 5, tokens: ["kkkk"], after: gitBytes(agreeingGitBytes))))
        return c
    }

    @Test func validSamplesDecode() throws {
        _ = try Tree(decoding: Self.validTree)
        _ = try Manifest(decoding: Self.validManifest)
        let c = try Commit(decoding: Self.validCommit)
        #expect(c.message == "msg")
        _ = try Commit(decoding: Self.commit(CommitParts(tz: 1440, flags: 3, tokens: ["abc", "0f"])))
        // Git bytes that agree with the ark fields, odd spacing, an unknown header and a Latin-1 message included.
        let withGit = try Commit(decoding: Self.commit(CommitParts(flags: 4, after: Self.gitBytes(Self.agreeingGitBytes))))
        #expect(withGit.gitRaw?.count == Self.agreeingGitBytes.utf8.count)
        let latin1 = "author n <e> 1 +0000\ncommitter n <e> 1 +0000\nencoding ISO-8859-1\n\nm\u{e9}"
        _ = try Commit(decoding: Self.commit(CommitParts(flags: 4, message: "m\u{e9}", after: Self.gitBytes(latin1))))
        _ = try Commit(
            decoding: Self.commit(
                CommitParts(
                    flags: 5, tokens: ["kkkk"], after: Self.gitBytes("author n <e> 1 +0000\ncommitter n <e> 1 +0000\nchange-id kkkk\n\nmsg")
                )))
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
