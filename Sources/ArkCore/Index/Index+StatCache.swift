import GRDB

/// What a file looked like when it was last chunked, so an unchanged file is not read again.
package struct StatKey: Equatable, Sendable {
    package var dev: Int64, ino: Int64, size: Int64, mtimeNs: Int64, ctimeNs: Int64
}

extension Index {
    /// Cached manifests of the files directly in a directory (not in its subdirectories),
    /// keyed by absolute path: a commit asks once per directory it enters, so it holds the
    /// rows of the directories on its path, not the whole tree's. The range read covers the
    /// directory's whole subtree; rows of deeper files are dropped as they are read.
    ///
    /// Every row's manifest is stored (present in `objects`): a row is written in the index
    /// transaction that publishes its manifest or after it, and whatever drops a manifest
    /// drops the rows naming it in the same transaction (gc; `repair index` for a record that
    /// does not verify, and for every row once before it starts, in case the index it repairs
    /// lost objects rows). So rows are not checked against `objects` here: a join cost a
    /// lookup per file, the larger part of a re-commit of an unchanged tree.
    package func statCache(in directory: String) throws -> [String: (StatKey, ObjectID)] {
        try read { db in
            var out: [String: (StatKey, ObjectID)] = [:]
            // Asked once per directory: prepared once per connection.
            let stmt = try db.cachedStatement(
                sql: """
                    SELECT path, dev, ino, size, mtime_ns, ctime_ns, manifest FROM stat_cache
                    WHERE path >= ?1 AND path < ?2 AND instr(substr(path, length(?1) + 1), '/') = 0
                    """)
            let rows = try Row.fetchCursor(stmt, arguments: [directory + "/", directory + "0"])
            while let r = try rows.next() {
                out[r[0]] = (StatKey(dev: r[1], ino: r[2], size: r[3], mtimeNs: r[4], ctimeNs: r[5]), r[6])
            }
            return out
        }
    }

    /// Whether any file under `root` has a stat cache row (if not, a commit asks no directory).
    package func hasStatCache(under root: String) throws -> Bool {
        try read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM stat_cache WHERE path >= ? AND path < ?)",
                arguments: [root + "/", root + "0"]) ?? false
        }
    }

    /// Deletes the rows whose manifest is not stored (after gc or repair dropped objects).
    static func dropStatCacheOfAbsentManifests(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM stat_cache WHERE manifest NOT IN (SELECT id FROM objects WHERE pack IS NOT NULL)")
    }

    static func updateStatCache(_ db: Database, _ entries: [(String, StatKey, ObjectID)]) throws {
        let stmt = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO stat_cache (path, dev, ino, size, mtime_ns, ctime_ns, manifest) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for (path, k, m) in entries {
            try stmt.execute(arguments: [path, k.dev, k.ino, k.size, k.mtimeNs, k.ctimeNs, m])
        }
    }
}
