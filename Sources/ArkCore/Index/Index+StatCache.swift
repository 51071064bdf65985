import GRDB

/// What a file looked like when it was last chunked, so an unchanged file is not read again.
package struct StatKey: Equatable, Sendable {
    package var dev: Int64, ino: Int64, size: Int64, mtimeNs: Int64, ctimeNs: Int64
}

extension Index {
    /// Cached manifests under a directory prefix, keyed by absolute path.
    package func statCache(under root: String) throws -> [String: (StatKey, ObjectID)] {
        try read { db in
            var out: [String: (StatKey, ObjectID)] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT s.path, s.dev, s.ino, s.size, s.mtime_ns, s.ctime_ns, s.manifest FROM stat_cache s
                JOIN objects o ON o.id = s.manifest AND o.pack IS NOT NULL
                WHERE s.path >= ? AND s.path < ?
                """, arguments: [root + "/", root + "0"])
            while let r = try rows.next() {
                out[r[0]] = (StatKey(dev: r[1], ino: r[2], size: r[3], mtimeNs: r[4], ctimeNs: r[5]), r[6])
            }
            return out
        }
    }

    static func updateStatCache(_ db: Database, _ entries: [(String, StatKey, ObjectID)]) throws {
        let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO stat_cache (path, dev, ino, size, mtime_ns, ctime_ns, manifest) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for (path, k, m) in entries {
            try stmt.execute(arguments: [path, k.dev, k.ino, k.size, k.mtimeNs, k.ctimeNs, m])
        }
    }
}
