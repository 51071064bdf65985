import Foundation
import GRDB
import Testing

@testable import ArkCore

/// The stat cache keeps a directory's files in a few small rows (`StatDirectory`): what goes
/// in comes out exactly, a damaged or misplaced row adds nothing (never a wrong manifest),
/// and rows of the old one-row-per-file table survive the migration.
@Suite struct StatCacheTests {
    static func id(_ n: Int) -> ObjectID { ObjectHasher.hash(.manifest, Array("manifest \(n)".utf8)) }

    /// `count` files with names, devices and times that exercise every field: shared
    /// prefixes, a name that is not UTF-8, times at both ends of Int64, ctime before mtime.
    static func entries(_ dir: [UInt8], count: Int) -> [StatEntry] {
        (0..<count).map { i in
            var name = Array("file-\(String(format: "%05d", i))".utf8)
            if i % 7 == 3 { name += [0xff, 0xfe] }
            let mtime: Int64 = i == 1 ? .min : i == 2 ? .max : 1_600_000_000_000_000_000 + Int64(i) * 987_654_321
            let key = StatKey(
                dev: i % 5 == 0 ? 2049 : -7, ino: Int64(i) * 1_000_003, size: Int64(i * 37),
                mtimeNs: mtime, ctimeNs: i % 3 == 0 ? mtime : mtime &- Int64(i) * 1_000)
            return StatEntry(path: dir + [0x2f] + name, key: key, manifest: id(i))
        }
    }

    static func rows(_ index: Index, _ dir: [UInt8]) throws -> [(part: Int, bytes: [UInt8])] {
        try index.read { db in
            try Row.fetchAll(db, sql: "SELECT part, entries FROM stat_dirs WHERE path = ? ORDER BY part", arguments: [Data(dir)])
                .map { ($0[0], [UInt8]($0[1] as Data)) }
        }
    }

    @Test(arguments: [1, 13, 200])
    func whatGoesInComesOut(count: Int) throws {
        let store = try TestStore()
        let dir = Array("/data/photos/\u{e9}t\u{e9}".utf8) + [0x80]
        let files = Self.entries(dir, count: count)
        try store.repo.index.write { try Index.updateStatCache($0, files) }
        let cached = try store.repo.index.statCache(in: dir)
        #expect(cached.count == count)
        for f in files {
            let name = Array(f.path[(dir.count + 1)...])
            #expect(cached.hit(name, f.key) == f.manifest)
            var changed = f.key
            changed.ctimeNs &+= 1
            #expect(cached.hit(name, changed) == nil)
        }
        // Small rows, so SQLite keeps several in a page; a large directory takes several.
        let rows = try Self.rows(store.repo.index, dir)
        #expect(rows.allSatisfy { $0.bytes.count < 1000 })
        #expect(count < 100 || rows.count > 1)
        // A subdirectory and the parent have rows of their own.
        #expect(try store.repo.index.statCache(in: Array(dir.dropLast())).isEmpty)
        #expect(try store.repo.index.hasStatCache(under: "/data/photos"))
        #expect(try !store.repo.index.hasStatCache(under: "/data/photo"))
    }

    @Test func laterEntriesReplaceEarlierOnesAndOthersStay() throws {
        let store = try TestStore()
        let dir = Array("/d".utf8)
        let files = Self.entries(dir, count: 150)
        try store.repo.index.write { try Index.updateStatCache($0, files) }
        var newer = files[40]
        newer.key.size += 1
        newer.manifest = Self.id(999)
        try store.repo.index.write { try Index.updateStatCache($0, [newer]) }
        let cached = try store.repo.index.statCache(in: dir)
        #expect(cached.count == 150)
        #expect(cached.hit(Array(newer.path.dropFirst(3)), newer.key) == Self.id(999))
        #expect(cached.hit(Array(files[41].path.dropFirst(3)), files[41].key) == files[41].manifest)
    }

    @Test func aDamagedOrMisplacedRowAddsNothing() throws {
        let store = try TestStore()
        let dir = Array("/d".utf8), other = Array("/e".utf8)
        let files = Self.entries(dir, count: 200)
        try store.repo.index.write { try Index.updateStatCache($0, files) }
        let rows = try Self.rows(store.repo.index, dir)
        #expect(rows.count >= 3)
        // A byte flipped in the middle of the second row: its entries go, nothing is wrong.
        var bad = rows[1].bytes
        bad[bad.count / 2] ^= 0x01
        try store.repo.index.write { db in
            try db.execute(sql: "UPDATE stat_dirs SET entries = ? WHERE path = ? AND part = 1", arguments: [Data(bad), Data(dir)])
            // The first row copied under another directory, and as another part of this one.
            try db.execute(
                sql: "INSERT INTO stat_dirs (path, part, entries) VALUES (?, 0, ?)", arguments: [Data(other), Data(rows[0].bytes)])
            try db.execute(
                sql: "INSERT INTO stat_dirs (path, part, entries) VALUES (?, 99, ?)", arguments: [Data(dir), Data(rows[0].bytes)])
            // Values of the wrong type (text where numbers and bytes belong) are damage, not a crash.
            try db.execute(sql: "INSERT INTO stat_dirs (path, part, entries) VALUES (?, 'one', 'two')", arguments: [Data(dir)])
        }
        let cached = try store.repo.index.statCache(in: dir)
        #expect(cached.count > 0 && cached.count < 200)
        for f in files {
            let hit = cached.hit(Array(f.path.dropFirst(3)), f.key)
            #expect(hit == nil || hit == f.manifest)
        }
        #expect(try store.repo.index.statCache(in: other).isEmpty)

        // Dropping absent manifests also drops rows that do not decode: every manifest is
        // stored, so only the damaged and misplaced rows go.
        try store.repo.index.write { db in
            try db.execute(sql: "INSERT INTO packs (name) VALUES ('p.pack')")
            let pack = db.lastInsertedRowID
            for f in files {
                try db.execute(
                    sql: "INSERT INTO objects (id, kind, raw_len, pack, offset, stored_len) VALUES (?, ?, 1, ?, 8, 1)",
                    arguments: [f.manifest, Int(ObjectKind.manifest.rawValue), pack])
            }
            try Index.dropStatCacheOfAbsentManifests(db)
        }
        #expect(try Self.rows(store.repo.index, other).isEmpty)
        let kept = try store.repo.index.statCache(in: dir)
        #expect(kept.count == cached.count, "the intact rows stay, the damaged one goes")
        #expect(try Self.rows(store.repo.index, dir).count == rows.count - 1)
    }

    @Test func entriesOfManifestsNotStoredAreDropped() throws {
        let store = try TestStore()
        let dir = Array("/d".utf8)
        let files = Self.entries(dir, count: 120)
        try store.repo.index.write { db in
            try Index.updateStatCache(db, files)
            // Only every tenth manifest is stored.
            try db.execute(sql: "INSERT INTO packs (name) VALUES ('p.pack')")
            let pack = db.lastInsertedRowID
            for f in files.enumerated() where f.offset % 10 == 0 {
                try db.execute(
                    sql: "INSERT INTO objects (id, kind, raw_len, pack, offset, stored_len) VALUES (?, ?, 1, ?, 8, 1)",
                    arguments: [f.element.manifest, Int(ObjectKind.manifest.rawValue), pack])
            }
            try Index.dropStatCacheOfAbsentManifests(db)
        }
        let cached = try store.repo.index.statCache(in: dir)
        #expect(cached.count == 12)
        for f in files.enumerated() {
            let hit = cached.hit(Array(f.element.path.dropFirst(3)), f.element.key)
            #expect(hit == (f.offset % 10 == 0 ? f.element.manifest : nil))
        }
    }

    /// An index written before `stat-v2` keeps its cache: every row becomes an entry.
    @Test func rowsOfTheOldTableMigrate() throws {
        let store = try TestStore()
        let path = store.directory + "/old.sqlite"
        do {
            let pool = try DatabasePool(path: path)
            try Index.migrator.migrate(pool, upTo: "tags-v2")
            try pool.write { db in
                for i in 0..<70_000 {
                    let key = StatKey(
                        dev: 1, ino: Int64(i), size: 10, mtimeNs: 1_500_000_000_000_000_000 + Int64(i), ctimeNs: 1_500_000_000_000_000_000)
                    try db.execute(
                        sql: "INSERT INTO stat_cache (path, dev, ino, size, mtime_ns, ctime_ns, manifest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        arguments: ["/src/d\(i % 3)/f\(i)", key.dev, key.ino, key.size, key.mtimeNs, key.ctimeNs, Self.id(i)])
                }
                // Damaged rows (a short manifest id, a time that is text) are left out, not fatal.
                try db.execute(
                    sql:
                        "INSERT INTO stat_cache (path, dev, ino, size, mtime_ns, ctime_ns, manifest) VALUES ('/src/d0/short', 1, 1, 1, 1, 1, x'0102')"
                )
                try db.execute(
                    sql:
                        "INSERT INTO stat_cache (path, dev, ino, size, mtime_ns, ctime_ns, manifest) VALUES ('/src/d0/text', 1, 1, 1, 'soon', 1, ?)",
                    arguments: [Self.id(1)])
            }
        }
        let index = try Index(path: path)
        let dirs = try (0..<3).map { try index.statCache(in: Array("/src/d\($0)".utf8)) }
        #expect(dirs.map(\.count).reduce(0, +) == 70_000)
        for i in [0, 1, 2, 65_535, 65_536, 69_999] {
            let key = StatKey(
                dev: 1, ino: Int64(i), size: 10, mtimeNs: 1_500_000_000_000_000_000 + Int64(i), ctimeNs: 1_500_000_000_000_000_000)
            #expect(dirs[i % 3].hit(Array("f\(i)".utf8), key) == Self.id(i))
        }
        #expect(try index.read { db in try !db.tableExists("stat_cache") })
    }

    /// Files deleted or renamed leave the cache at the next commit that lists their directory:
    /// it does not grow with every name a directory ever held.
    @Test func entriesOfFilesGoneAreDropped() throws {
        let store = try TestStore()
        let root = store.directory + "/src"
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/emptied", withIntermediateDirectories: true)
        for name in ["a", "b", "c", "sub/x", "emptied/z"] {
            let path = root + "/" + name
            try Data("content of \(name)\n".utf8).write(to: URL(fileURLWithPath: path))
            var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }
        func commit() throws -> StatDirectory {
            var snapshot = Snapshot(session: try WriteSession(store.repo), root: root)
            let (tree, _) = try snapshot.run()
            _ = try store.commit(tree: tree, session: snapshot.session)
            return try store.repo.index.statCache(in: Array(root.utf8))
        }
        #expect(try commit().count == 3)
        #expect(unlink(root + "/b") == 0)
        #expect(rename(root + "/c", root + "/d") == 0)
        #expect(rename(root + "/sub/x", root + "/sub/y") == 0)
        #expect(unlink(root + "/emptied/z") == 0)
        #expect(try !store.repo.index.statCache(in: Array((root + "/emptied").utf8)).isEmpty)
        let after = try commit()
        #expect(after.count == 2)
        #expect(after.contains(Array("a".utf8)) && after.contains(Array("d".utf8)))
        #expect(!after.contains(Array("b".utf8)) && !after.contains(Array("c".utf8)))
        let sub = try store.repo.index.statCache(in: Array((root + "/sub").utf8))
        #expect(sub.count == 1 && sub.contains(Array("y".utf8)))
        // A directory with no file left keeps no rows either.
        #expect(try store.repo.index.statCache(in: Array((root + "/emptied").utf8)).isEmpty)
    }

    /// A file whose name is not UTF-8 is taken from the cache on the next commit too.
    @Test func aNameThatIsNotUTF8IsReused() throws {
        let store = try TestStore()
        let root = store.directory + "/src"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let name = Array("caf".utf8) + [0xe9]
        let fd = FileName.withCString(Array(root.utf8) + [0x2f] + name) { open($0, O_CREAT | O_WRONLY, 0o644) }
        #expect(fd >= 0)
        _ = write(fd, "x", 1)
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        var first = Snapshot(session: try WriteSession(store.repo), root: root)
        let (tree, _) = try first.run()
        _ = try store.commit(tree: tree, session: first.session)
        var second = Snapshot(session: try WriteSession(store.repo), root: root)
        var last = Snapshot.Progress()
        second.onProgress = { last = $0 }
        #expect(try second.run().tree == tree)
        #expect(last.filesReused == 1)
    }
}
