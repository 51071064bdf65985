import Foundation
import GRDB
import Glibc
import Testing

@testable import ArkCore

/// One flipped byte in a pack: reads of that chunk fail naming it, nothing corrupt is served,
/// verify reports it, and everything else still reads.
@Suite struct CorruptionTests {
    @Test func flippedChunkByte() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 31337)
        let big = rng.bytes(6 << 20)
        let other = rng.bytes(300_000)
        try ws.write("src/big.bin", big)
        try ws.write("src/other.bin", other)
        try ws.write("src/small.txt", Array("small\n".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")

        // Find the third chunk of big.bin and its bytes in the pack through the index.
        let items = try #require(try ws.json("ls", "--json", "proj:big.bin") as? [[String: Any]])
        let manifestHex = try #require(items.first?["id"] as? String)
        let manifestID = try #require(ObjectID(hex: manifestHex))
        let (victim, victimStart, packPath, offset): (ObjectID, UInt64, String, UInt64) = try {
            let repo = try Repository(path: ws.store)
            let m = try repo.manifest(manifestID)
            try #require(m.count >= 4)
            let id = m.id(at: 2)
            let loc = try #require(try repo.index.object(id)?.location)
            #expect(loc.compression == .none)
            let name = try #require(try repo.index.packName(loc.pack))
            return (id, m.start(at: 2), repo.packDirectory + "/" + name, loc.offset + UInt64(loc.storedLength / 2))
        }()
        try StoreDamage.flipByte(at: offset, in: packPath)

        let cat = try ws.ark("cat", "proj:big.bin")
        #expect(cat.status == 3, "\(cat.stderr)")
        #expect(cat.stderr.hasPrefix("ark: ") && cat.stderr.contains(victim.hex), "\(cat.stderr)")
        #expect(cat.stderr.split(separator: "\n").count == 1)
        // Only verified bytes before the bad chunk reach stdout.
        #expect(UInt64(cat.stdoutData.count) <= victimStart)
        #expect(Array(cat.stdoutData) == Array(big.prefix(cat.stdoutData.count)))

        let verify = try ws.ark("verify")
        #expect(verify.status == 3)
        #expect(verify.stdout.contains("corrupt: chunk \(victim.hex)"), "\(verify.stdout)")
        #expect(verify.stdout.contains("1 corrupt"))
        let json = try #require(try JSONSerialization.jsonObject(with: try ws.ark("verify", "--json").stdoutData) as? [String: Any])
        #expect(json["ok"] as? Bool == false)
        #expect((json["corrupt"] as? [[String: Any]])?.map { $0["id"] as? String } == [victim.hex])

        let good = try ws.ark("cat", "proj:other.bin")
        #expect(good.ok && Array(good.stdoutData) == other)
        #expect(try ws.ark("cat", "proj:small.txt").stdout == "small\n")
        // Export refuses too and leaves nothing behind.
        #expect(try ws.ark("export", "proj", "out").status == 3)
        #expect(!ws.exists("out"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.path).allSatisfy { !$0.hasPrefix(".ark-export") })
    }

    /// Two blocks of a stored chunk swapped in the pack, and their tags swapped in the index
    /// with them: each block still meets its own tag, but at another position, so neither
    /// `cat` nor `export` may return the reordered bytes.
    @Test func swappedBlocksAndTags() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 4242)
        let big = rng.bytes(4 << 20)
        try ws.write("src/big.bin", big)
        _ = try ws.ok("commit", "src", "--repo", "proj")
        let items = try #require(try ws.json("ls", "--json", "proj:big.bin") as? [[String: Any]])
        let manifestHex = try #require(items.first?["id"] as? String)
        let manifestID = try #require(ObjectID(hex: manifestHex))
        let bs = BlockTagger.blockSize, ts = BlockTagger.tagSize
        let (victim, victimStart, packPath, offset): (ObjectID, UInt64, String, UInt64) = try {
            let repo = try Repository(path: ws.store)
            let m = try repo.manifest(manifestID)
            let i = try #require((0..<m.count).first { m.entry(at: $0).length >= UInt64(2 * bs) })
            let id = m.id(at: i)
            let (obj, tags) = try #require(try repo.index.objectForRead(id))
            let loc = try #require(obj.location)
            try #require(loc.compression == .none)
            var t = try #require(tags)
            // Tags 0 and 1 trade places, as blocks 0 and 1 do in the pack below.
            let first = Array(t[0..<ts])
            t.replaceSubrange(0..<ts, with: t[ts..<2 * ts])
            t.replaceSubrange(ts..<2 * ts, with: first)
            try repo.index.write { db in
                try db.execute(sql: "UPDATE chunk_tags SET tags = ? WHERE id = ?", arguments: [Data(t), id])
            }
            let name = try #require(try repo.index.packName(loc.pack))
            return (id, m.start(at: i), repo.packDirectory + "/" + name, loc.offset)
        }()
        try StoreDamage.swap(bs, at: offset, with: offset + UInt64(bs), in: packPath)

        let cat = try ws.ark("cat", "proj:big.bin")
        #expect(cat.status == 3, "\(cat.stderr)")
        #expect(cat.stderr.hasPrefix("ark: ") && cat.stderr.contains(victim.hex), "\(cat.stderr)")
        #expect(cat.stderr.split(separator: "\n").count == 1, "\(cat.stderr)")
        #expect(UInt64(cat.stdoutData.count) <= victimStart)
        #expect(Array(cat.stdoutData) == Array(big.prefix(cat.stdoutData.count)))
        let export = try ws.ark("export", "proj", "out")
        #expect(export.status == 3, "\(export.stderr)")
        #expect(export.stderr.split(separator: "\n").count == 1, "\(export.stderr)")
        #expect(!ws.exists("out"))
    }
}
