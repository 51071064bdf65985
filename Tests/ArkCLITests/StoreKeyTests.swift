import Foundation
import GRDB
import Glibc
import Testing

@testable import ArkCore

/// node.key and tags.key under damage and loss: a store with data never takes a new identity,
/// another node's key is refused, an unreadable key is reported as what it is, and block tags
/// do not depend on the node key.
@Suite struct StoreKeyTests {
    /// A workspace with one commit; returns it and its node id.
    static func committed() throws -> (Workspace, String) {
        let ws = Workspace()
        var rng = SeededRandom(seed: 99)
        try ws.write("src/a.bin", rng.bytes(200_000))
        try ws.write("src/b.txt", Array("hello\n".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        return (ws, try ws.ok("id"))
    }

    static func oneLine(_ r: ArkProcess.Result) -> Bool {
        r.stderr.hasPrefix("ark: ") && r.stderr.split(separator: "\n").count == 1
    }

    @Test func aMissingKeyInAStoreWithDataIsAnErrorNotANewIdentity() throws {
        let (ws, id) = try Self.committed()
        let backup = try ws.read("data/node.key")
        try FileManager.default.removeItem(atPath: ws.store + "/node.key")
        for args in [["id"], ["log", "proj"], ["commit", "src", "--repo", "proj"]] {
            let r = try ws.ark(args)
            #expect(r.status == 1, "ark \(args): \(r.stderr)")
            #expect(Self.oneLine(r), "ark \(args): \(r.stderr)")
            #expect(r.stderr.contains("node.key") && r.stderr.contains("missing") && r.stderr.contains("backup"), "\(r.stderr)")
            #expect(!ws.exists("data/node.key"), "a new key was made by ark \(args)")
        }
        #expect(try ws.read("data/endpoint_id") == Array((id + "\n").utf8))
        // Restored from the backup, the node is itself again, with its head.
        try ws.write("data/node.key", backup, mode: 0o600)
        #expect(try ws.ok("id") == id)
        #expect(try ws.ok("cat", "proj:b.txt") == "hello")
    }

    @Test func anotherNodesKeyIsRefused() throws {
        let (ws, id) = try Self.committed()
        let other = Workspace()
        let otherID = try other.ok("id")
        try #require(otherID != id)
        try FileManager.default.removeItem(atPath: ws.store + "/node.key")
        try ws.write("data/node.key", try other.read("data/node.key"), mode: 0o600)
        let r = try ws.ark("id")
        #expect(r.status == 1 && Self.oneLine(r), "\(r.stderr)")
        #expect(r.stderr.contains(otherID) && r.stderr.contains(id), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(try ws.read("data/endpoint_id") == Array((id + "\n").utf8))
    }

    enum Damage: String, CaseIterable, Sendable { case directory, truncated, symlink, mismatchedHalves, empty }

    @Test(arguments: Damage.allCases)
    func anUnreadableKeyIsReportedAsSuch(_ damage: Damage) throws {
        let (ws, _) = try Self.committed()
        let key = ws.store + "/node.key"
        let good = try ws.read("data/node.key")
        try FileManager.default.removeItem(atPath: key)
        let expected: String
        switch damage {
        case .directory:
            try ws.mkdir("data/node.key")
            expected = "not a regular file"
        case .truncated:
            try ws.write("data/node.key", Array(good.prefix(40)), mode: 0o600)
            expected = "is 40 bytes, expected 64"
        case .empty:
            try ws.write("data/node.key", [], mode: 0o600)
            expected = "is 0 bytes, expected 64"
        case .symlink:
            try ws.write("elsewhere.key", good, mode: 0o600)
            try ws.symlink("data/node.key", to: ws.path + "/elsewhere.key")
            expected = "symbolic link"
        case .mismatchedHalves:
            var bad = good
            bad[3] ^= 1
            try ws.write("data/node.key", bad, mode: 0o600)
            expected = "damaged"
        }
        let r = try ws.ark("id")
        #expect(r.status != 0 && Self.oneLine(r), "\(damage): \(r.stderr)")
        #expect(r.stderr.contains("node key") && r.stderr.contains(expected), "\(damage): \(r.stderr)")
        #expect(!r.stderr.contains("Too many open files"))
        // Nothing was created beside it.
        let names = try FileManager.default.contentsOfDirectory(atPath: ws.store)
        #expect(!names.contains { $0.contains(".tmp.") }, "\(names)")
    }

    /// Not root: a key the user cannot read is "permission denied", reported once.
    @Test func aKeyThatCannotBeReadIsPermissionDenied() throws {
        try #require(geteuid() == 0, "needs root to run ark as another user")
        let (ws, _) = try Self.committed()
        // The store and everything in it belong to nobody, except the key.
        let r0 = try sh("chown -R 65534:65534 '\(ws.path)' && chown 0:0 '\(ws.store)/node.key' && chmod 600 '\(ws.store)/node.key'")
        try #require(r0.status == 0, "\(r0.err)")
        let r = try sh("cd '\(ws.path)' && setpriv --reuid=65534 --regid=65534 --clear-groups '\(ArkProcess.binary)' id")
        #expect(r.status == 1, "\(r.err)")
        #expect(r.err.contains("node key") && r.err.contains("Permission denied"), "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
    }

    /// As root, a store directory that another user owns is refused with one line.
    @Test func rootRefusesAStoreOwnedByAnotherUser() throws {
        try #require(geteuid() == 0, "needs root")
        let (ws, _) = try Self.committed()
        #expect(chown(ws.store, 65534, 65534) == 0)
        let r = try ws.ark("id")
        #expect(r.status == 1 && Self.oneLine(r), "\(r.stderr)")
        #expect(r.stderr.contains("owned by uid 65534"), "\(r.stderr)")
        // An empty directory of another user: nothing is created in it.
        let fresh = Workspace()
        try fresh.mkdir("data")
        #expect(chown(fresh.store, 65534, 65534) == 0)
        let r2 = try fresh.ark("id")
        #expect(r2.status == 1 && Self.oneLine(r2), "\(r2.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fresh.store).isEmpty)
    }

    /// Tags are keyed by the store's tag key, not the node key: after a deliberate change of
    /// identity (a new key and its record), stored tags still verify. Block 1 of a chunk is
    /// damaged; block 0 is still served, which only a tag check can do (the whole chunk no
    /// longer hashes to its id).
    @Test func blockTagsSurviveAChangeOfNodeKey() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 7)
        let data = rng.bytes(3 << 20)
        try ws.write("src/big.bin", data)
        _ = try ws.ok("commit", "src", "--repo", "proj")
        let other = Workspace()
        _ = try other.ok("id")
        let (victim, start, tagCount): (ObjectID, Int, Int) = try {
            let repo = try Repository(path: ws.store)
            let items = try #require(try ws.json("ls", "--json", "proj:big.bin") as? [[String: Any]])
            let hex = try #require(items.first?["id"] as? String)
            let m = try repo.manifest(try #require(ObjectID(hex: hex)))
            let i = try #require((0..<m.count).first { m.entry(at: $0).length >= UInt64(2 * BlockTagger.blockSize) })
            let loc = try #require(try repo.index.object(m.id(at: i))?.location)
            let packName = try #require(try repo.index.packName(loc.pack))
            let pack = repo.packDirectory + "/" + packName
            try StoreDamage.flipByte(at: loc.offset + UInt64(BlockTagger.blockSize + 5), in: pack)
            // The identity changes on purpose: another key, and its record dropped.
            try repo.index.write { db in try db.execute(sql: "DELETE FROM store_keys WHERE name = 'node'") }
            return (m.id(at: i), Int(m.start(at: i)), try repo.index.tagCount())
        }()
        try FileManager.default.removeItem(atPath: ws.store + "/node.key")
        try ws.write("data/node.key", try other.read("data/node.key"), mode: 0o600)
        #expect(try ws.ok("id") == (try other.ok("id")))
        let repo = try Repository(path: ws.store)
        #expect(try repo.index.tagCount() == tagCount)
        #expect(try repo.readChunk(victim, range: 0..<100) == Array(data[start..<start + 100]))
        #expect(throws: ArkError.self) { _ = try repo.readChunk(victim) }
    }

    /// A store written before keys-v1 (old-format tags, no store_keys): reads neither fail nor
    /// warn, and what is read whole gets tags again.
    @Test func anOldStoreReadsWithoutWarningsAndIsRetagged() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 8)
        let data = rng.bytes(2 << 20)
        try ws.write("src/big.bin", data)
        _ = try ws.ok("commit", "src", "--repo", "proj")
        try {
            let repo = try Repository(path: ws.store)
            try repo.index.write { db in
                // As before keys-v1: tags that do not verify under the new format, no key records.
                try db.execute(sql: "UPDATE chunk_tags SET tags = randomblob(length(tags))")
                try db.execute(sql: "DROP TABLE store_keys")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'keys-v1'")
            }
        }()
        try FileManager.default.removeItem(atPath: ws.store + "/tags.key")
        let cat = try ws.ark(["cat", "proj:big.bin"])
        #expect(cat.ok && Array(cat.stdoutData) == data)
        #expect(cat.stderr.isEmpty, "\(cat.stderr)")
        let items = try #require(try ws.json("ls", "--json", "proj:big.bin") as? [[String: Any]])
        let repo = try Repository(path: ws.store)
        let hex = try #require(items.first?["id"] as? String)
        let m = try repo.manifest(try #require(ObjectID(hex: hex)))
        let ids = Set((0..<m.count).map { m.id(at: $0) })
        for r in repo.readChunks(Array(ids)) { _ = try r.get() }
        repo.flushTagBackfill()
        #expect(try repo.index.tagCount() == ids.count)
        #expect(try ws.ark(["cat", "proj:big.bin"]).stderr.isEmpty)
    }
}
