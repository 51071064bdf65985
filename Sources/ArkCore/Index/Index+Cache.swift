import GRDB

/// The evictable cache of chunks fetched on demand (table `chunk_cache`): which chunks are in
/// it, how many bytes they take, and when each was last used.
extension Index {
    package struct CacheUsage: Sendable, Equatable {
        package var chunks: Int
        package var bytes: Int64
    }

    package func cacheUsage() throws -> CacheUsage {
        try read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM chunk_cache")!
            return CacheUsage(chunks: row[0], bytes: row[1])
        }
    }

    package func hasCachedChunks() throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM chunk_cache)") ?? false }
    }

    /// Records when cached chunks were last read (ids not in the cache are ignored).
    package func touchCached(_ uses: [ObjectID: Int64]) throws {
        guard !uses.isEmpty else { return }
        try write { db in
            let stmt = try db.cachedStatement(sql: "UPDATE chunk_cache SET last_used = MAX(last_used, ?) WHERE id = ?")
            for (id, time) in uses { try stmt.execute(arguments: [time, id]) }
        }
    }

    /// Takes `ids` out of the evictable cache: an own commit or a `full` repo needs them.
    package func keepChunks(_ ids: some Collection<ObjectID>) throws {
        guard !ids.isEmpty, try hasCachedChunks() else { return }
        try write { db in try Self.keepChunks(db, ids) }
    }

    /// Whether `id` is stored here, asked by a writer about to deduplicate against it. A chunk
    /// in the evictable cache is first taken out of it, in a write transaction that also checks
    /// it is still present: from then on eviction cannot make absent what the writer's
    /// manifests will name. (A present chunk outside the cache never enters it.)
    package func isPresentAndKept(_ id: ObjectID) throws -> Bool {
        let state: (present: Bool, cached: Bool) = try read { db in
            let stmt = try db.cachedStatement(
                sql: """
                    SELECT pack IS NOT NULL, EXISTS (SELECT 1 FROM chunk_cache WHERE chunk_cache.id = objects.id)
                    FROM objects WHERE id = ?
                    """)
            guard let row = try Row.fetchOne(stmt, arguments: [id]) else { return (false, false) }
            return (row[0], row[1])
        }
        guard state.present else { return false }
        guard state.cached else { return true }
        return try write { db in
            try Self.keepChunks(db, [id])
            return try Bool.fetchOne(db, sql: "SELECT pack IS NOT NULL FROM objects WHERE id = ?", arguments: [id]) ?? false
        }
    }

    static func hasCachedChunks(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM chunk_cache)") ?? false
    }

    static func keepChunks(_ db: Database, _ ids: some Collection<ObjectID>) throws {
        let stmt = try db.cachedStatement(sql: "DELETE FROM chunk_cache WHERE id = ?")
        for id in ids { try stmt.execute(arguments: [id]) }
    }

    static func insertCached(_ db: Database, _ id: ObjectID, bytes: Int, time: Int64) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO chunk_cache (id, bytes, last_used) VALUES (?, ?, ?)",
            arguments: [id, bytes, time])
    }
}
