@testable import ArkCore

/// Random but valid objects for codec tests.
enum ObjectSamples {
    static func id(_ rng: inout SeededRandom) -> ObjectID { ObjectID(bytes: rng.bytes(32)) }

    static func name(_ rng: inout SeededRandom, _ i: Int) -> FileName {
        let pool = ["a", "B", "z9", "é", "e\u{301}", "日本", "file.txt", "-", "_x", " sp ace", "emoji🙂"]
        return FileName(pool[Int(rng.next() % UInt64(pool.count))] + String(i))
    }

    /// Names that only v2 stores: Latin-1 bytes, a lone continuation byte, controls.
    static func byteName(_ rng: inout SeededRandom, _ i: Int) -> FileName {
        let pool: [[UInt8]] = [
            [0x63, 0x61, 0x66, 0xe9], [0x80], [0xff, 0xfe], [0x6e, 0x0a, 0x6c], [0x1b, 0x5b, 0x33, 0x31, 0x6d], [0xc3, 0xa9]
        ]
        return FileName(bytes: pool[Int(rng.next() % UInt64(pool.count))] + Array(String(i).utf8))
    }

    /// A v2 tree: every kind, names as bytes, and modes and mtimes on some entries.
    static func treeV2(_ rng: inout SeededRandom, entries n: Int) throws -> Tree {
        var entries: [Tree.Entry] = []
        for i in 0..<n {
            let nm = i % 3 == 0 ? byteName(&rng, i) : name(&rng, i)
            var e: Tree.Entry
            switch i % 5 {
            case 0: e = .file(nm, manifest: id(&rng), size: rng.next() >> UInt64(rng.next() % 64))
            case 1: e = .file(nm, manifest: id(&rng), size: rng.next() % 1000, executable: true)
            case 2: e = .symlink(nm, target: "../target/\(i)")
            case 3: e = .directory(nm, tree: id(&rng), size: rng.next() % 100_000)
            default: e = .submodule(nm, commit: id(&rng).hex)
            }
            switch e.kind {
            case .file where i % 2 == 0: e.mode = [0o600, 0o644, 0o4644, 0o2640, 0o444][Int(rng.next() % 5)]
            case .executable where i % 2 == 0: e.mode = [0o700, 0o755, 0o4755, 0o2711, 0o7777, 0o010][Int(rng.next() % 6)]
            case .directory where i % 2 == 0: e.mode = [0o700, 0o1777, 0o755, 0o2775, 0][Int(rng.next() % 5)]
            default: break
            }
            // Some entries keep the mode git wrote (never the canonical one).
            if i % 7 == 6 {
                e.gitMode =
                    switch e.kind {
                    case .file: "100664"
                    case .executable: "100775"
                    case .directory: "040000"
                    case .symlink: "120777"
                    case .submodule: "160755"
                    }
            }
            if i % 4 != 1 {
                e.mtime = Tree.Timestamp(
                    seconds: [0, -1, 1, 2_147_483_648, 4_102_444_800, Int64.min, Int64.max][Int(rng.next() % 7)],
                    nanoseconds: UInt32(rng.next() % 1_000_000_000))
            }
            entries.append(e)
        }
        return try Tree(entries: entries)
    }

    static func tree(_ rng: inout SeededRandom, entries n: Int) throws -> Tree {
        var entries: [Tree.Entry] = []
        for i in 0..<n {
            let nm = name(&rng, i)
            switch i % 5 {
            case 0: entries.append(.file(nm, manifest: id(&rng), size: rng.next() >> UInt64(rng.next() % 64)))
            case 1: entries.append(.file(nm, manifest: id(&rng), size: rng.next() % 1000, executable: true))
            case 2: entries.append(.symlink(nm, target: "../target/\(i)"))
            case 3: entries.append(.directory(nm, tree: id(&rng), size: rng.next() % 100_000))
            default: entries.append(.submodule(nm, commit: id(&rng).hex))
            }
        }
        return try Tree(entries: entries)
    }

    static func manifest(_ rng: inout SeededRandom, entries n: Int, level: UInt8 = 0) -> Manifest {
        Manifest(
            level: level,
            entries: (0..<n).map { _ in
                Manifest.Entry(id: id(&rng), length: 1 + rng.next() % UInt64(ObjectLimits.maxChunkSize))
            })
    }

    static func commit(_ rng: inout SeededRandom, parents: Int, change: Bool, source: Bool, gitRaw: Bool = false) -> Commit {
        let author = Commit.Signature(
            name: "Ann Author", email: "ann@example.org", time: Int64(bitPattern: rng.next() >> 2) - (1 << 60),
            tzOffsetMinutes: Int16(Int(rng.next() % 2881) - 1440))
        let committer = Commit.Signature(name: "Çommitter", email: "", time: -5, tzOffsetMinutes: -1440)
        var c = Commit(
            tree: id(&rng), parents: (0..<parents).map { _ in id(&rng) }, author: author, committer: committer,
            message: "subject\n\nbody with \0 NUL and ünïcode\n", changeID: change ? "kqwzxyvutsrlmnop" : nil,
            sourceID: source ? "0123abcdef" : nil, node: id(&rng))
        if gitRaw { c.gitRaw = gitBytes(c) }
        return c
    }

    /// Git bytes (`Commit.gitRaw`) that say what `c`'s ark fields say, with a gpgsig header.
    static func gitBytes(_ c: Commit) -> [UInt8] {
        var raw = "author \(Commit.gitSignature(c.author))\ncommitter \(Commit.gitSignature(c.committer))\n"
        raw += "gpgsig -----BEGIN-----\n x\n -----END-----\n"
        if let change = c.changeID { raw += "change-id \(change)\n" }
        return Array((raw + "\n" + c.message).utf8)
    }
}
