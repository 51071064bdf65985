@testable import ArkCore

/// Random but valid objects for codec tests.
enum ObjectSamples {
    static func id(_ rng: inout SeededRandom) -> ObjectID { ObjectID(bytes: rng.bytes(32)) }

    static func name(_ rng: inout SeededRandom, _ i: Int) -> String {
        let pool = ["a", "B", "z9", "é", "e\u{301}", "日本", "file.txt", "-", "_x", " sp ace", "emoji🙂"]
        return pool[Int(rng.next() % UInt64(pool.count))] + String(i)
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
        Manifest(level: level, entries: (0..<n).map { _ in
            Manifest.Entry(id: id(&rng), length: 1 + rng.next() % UInt64(ObjectLimits.maxChunkSize))
        })
    }

    static func commit(_ rng: inout SeededRandom, parents: Int, change: Bool, source: Bool) -> Commit {
        let author = Commit.Signature(name: "Ann Author", email: "ann@example.org", time: Int64(bitPattern: rng.next() >> 2) - (1 << 60),
                                      tzOffsetMinutes: Int16(Int(rng.next() % 2881) - 1440))
        let committer = Commit.Signature(name: "Çommitter", email: "", time: -5, tzOffsetMinutes: -1440)
        return Commit(tree: id(&rng), parents: (0..<parents).map { _ in id(&rng) }, author: author, committer: committer,
                      message: "subject\n\nbody with \0 NUL and ünïcode\n", changeID: change ? "kqwzxyvutsrlmnop" : nil,
                      sourceID: source ? "0123abcdef" : nil, node: id(&rng))
    }
}
