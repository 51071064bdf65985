import Foundation
import GRDB

/// One file a commit read, for the stat cache: its path, stat data and manifest.
struct StatEntry {
    var path: [UInt8]
    var key: StatKey
    var manifest: ObjectID
}

/// A directory whose stat cache keeps only the files named in `keep`.
struct StatPrune {
    var directory: [UInt8]
    var keep: Set<[UInt8]>
}

extension Index {
    /// The stat cache of the files directly in `directory` (its path as the commit walks it):
    /// its rows, asked once per directory a commit enters. A row that does not decode or does
    /// not match its checksum adds nothing (its files are read again).
    ///
    /// Every entry's manifest is stored (present in `objects`): an entry is written in the
    /// index transaction that publishes its manifest or after it, and whatever drops a
    /// manifest drops the entries naming it in the same transaction (gc; `repair index` for a
    /// record that does not verify, and for every entry once before it starts, in case the
    /// index it repairs lost objects rows). So entries are not checked against `objects` here:
    /// a lookup per file was the larger part of a re-commit of an unchanged tree.
    package func statCache(in directory: [UInt8]) throws -> StatDirectory {
        try read { db in
            // Asked once per directory: prepared once per connection.
            try Self.statDirectory(db, directory).directory
        }
    }

    /// The rows of `path` decoded, and whether one of them did not decode.
    static func statDirectory(_ db: Database, _ path: [UInt8]) throws -> (directory: StatDirectory, damaged: Bool) {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT part, entries FROM stat_dirs WHERE path = ? ORDER BY part"), arguments: [Data(path)])
        var dir = StatDirectory()
        var damaged = false
        while let row = try rows.next() {
            // Converted without GRDB's fatal conversions: a damaged row is only a miss.
            guard let part = Int.fromDatabaseValue(row[0] as DatabaseValue), let bytes = Data.fromDatabaseValue(row[1] as DatabaseValue)
            else {
                damaged = true
                continue
            }
            do { try dir.add(decoding: [UInt8](bytes), path: path, part: part) } catch { damaged = true }
        }
        return (dir, damaged)
    }

    /// Whether `root` or any directory under it has a stat cache row (if not, a commit asks
    /// no directory).
    package func hasStatCache(under root: String) throws -> Bool {
        let root = Array(root.utf8)
        return try read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM stat_dirs WHERE path = ? OR (path >= ? AND path < ?))",
                arguments: [Data(root), Data(root + [0x2f]), Data(root + [0x30])]) ?? false
        }
    }

    /// Drops the entries whose manifest is not stored (after gc or repair dropped objects),
    /// and rows that do not decode; a page of directories at a time.
    static func dropStatCacheOfAbsentManifests(_ db: Database) throws {
        let page = try db.makeStatement(sql: "SELECT DISTINCT path FROM stat_dirs WHERE path > ? ORDER BY path LIMIT 256")
        let stored = try db.cachedStatement(sql: "SELECT 1 FROM objects WHERE id = ? AND pack IS NOT NULL")
        var after = Data()
        while true {
            let paths = try Data.fetchAll(page, arguments: [after])
            guard let last = paths.last else { return }
            for p in paths {
                try keepEntries(db, [UInt8](p)) { _, manifest in try Int.fetchOne(stored, arguments: [manifest]) != nil }
            }
            after = last
        }
    }

    /// Records `entries` in the rows of their directories (read, merged, written back).
    static func updateStatCache(_ db: Database, _ entries: [StatEntry]) throws {
        var byDirectory: [[UInt8]: [(name: [UInt8], key: StatKey, manifest: ObjectID)]] = [:]
        for e in entries {
            guard let slash = e.path.lastIndex(of: 0x2f) else { continue }
            byDirectory[Array(e.path[..<slash]), default: []].append((Array(e.path[(slash + 1)...]), e.key, e.manifest))
        }
        // In path order: a first commit's rows go in as appends, filling their pages.
        for (path, files) in byDirectory.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            var dir = try statDirectory(db, path).directory
            for f in files { dir.set(f.name, f.key, f.manifest) }
            try write(db, dir, path: path)
        }
    }

    /// Drops the entries of files each directory no longer has.
    static func pruneStatCache(_ db: Database, _ prunes: [StatPrune]) throws {
        for p in prunes { try keepEntries(db, p.directory) { name, _ in p.keep.contains(name) } }
    }

    /// Rewrites the rows of `path` with only the entries `keep` accepts, if any went or a row
    /// did not decode (the one load-filter-write of dropping absent manifests and pruning).
    private static func keepEntries(_ db: Database, _ path: [UInt8], _ keep: ([UInt8], ObjectID) throws -> Bool) throws {
        var (dir, damaged) = try statDirectory(db, path)
        guard try dir.keepEntries(keep) || damaged else { return }
        try write(db, dir, path: path)
    }

    /// Replaces the rows of `path` with `dir`'s.
    private static func write(_ db: Database, _ dir: StatDirectory, path: [UInt8]) throws {
        let key = Data(path)
        try db.cachedStatement(sql: "DELETE FROM stat_dirs WHERE path = ?").execute(arguments: [key])
        let insert = try db.cachedStatement(sql: "INSERT INTO stat_dirs (path, part, entries) VALUES (?, ?, ?)")
        for (part, row) in dir.encodedParts(path: path).enumerated() {
            try insert.execute(arguments: [key, part, Data(row)])
        }
    }

    /// Migration `stat-v2`: the rows of `stat_cache` (one per file, keyed by its text path)
    /// become rows of `stat_dirs` (one per directory), 65,536 files at a time.
    static func migrateStatCacheToDirectories(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE stat_dirs (
                    path BLOB NOT NULL, part INTEGER NOT NULL, entries BLOB NOT NULL, PRIMARY KEY (path, part)
                ) WITHOUT ROWID
                """)
        let rows = try Row.fetchCursor(db, sql: "SELECT path, dev, ino, size, mtime_ns, ctime_ns, manifest FROM stat_cache")
        var batch: [StatEntry] = []
        while let r = try rows.next() {
            // A row that does not convert is left out (a miss), never a fatal conversion.
            func int(_ i: Int) -> Int64? { Int64.fromDatabaseValue(r[i] as DatabaseValue) }
            guard let path = String.fromDatabaseValue(r[0] as DatabaseValue),
                let manifest = ObjectID.fromDatabaseValue(r[6] as DatabaseValue),
                let dev = int(1), let ino = int(2), let size = int(3), let mtime = int(4), let ctime = int(5)
            else { continue }
            let key = StatKey(dev: dev, ino: ino, size: size, mtimeNs: mtime, ctimeNs: ctime)
            batch.append(StatEntry(path: Array(path.utf8), key: key, manifest: manifest))
            if batch.count >= 65536 {
                try updateStatCache(db, batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try updateStatCache(db, batch)
        try db.execute(sql: "DROP TABLE stat_cache")
    }
}
