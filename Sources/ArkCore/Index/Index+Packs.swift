import GRDB

extension Index {
    /// The present objects stored in `pack`, in offset order, a page at a time (one read
    /// transaction per page): a commit of small files puts hundreds of thousands of objects
    /// in one pack, so gc and verify never hold a whole pack's rows either.
    package func forEachObjectPage(inPack pack: Int64, pageSize: Int = 8192, _ body: ([IndexedObject]) throws -> Void) throws {
        var after: Int64 = -1
        while true {
            // Paged on the rows' own offsets: a page whose rows all fail to decode is skipped,
            // not taken for the end.
            let (page, lastOffset) = try read { db -> ([IndexedObject], Int64?) in
                let rows = try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT kind, raw_len, pack, offset, stored_len, compression, id FROM objects
                            WHERE pack = ? AND offset > ? ORDER BY offset LIMIT ?
                            """),
                    arguments: [pack, after, pageSize])
                return (rows.compactMap { row in Self.decode(row, id: row[6]) }, rows.last.map { $0[3] as Int64 })
            }
            guard let lastOffset else { return }
            if !page.isEmpty { try body(page) }
            after = lastOffset
        }
    }
}

extension Index {
    /// Which of `ids` are known but not stored here (absent chunks of a lazy repo), looked up
    /// in one read transaction: the batch form of `absentIDs(kind:)` for walks that must not
    /// hold every absent id of the index.
    package func absentSet(_ ids: some Collection<ObjectID>) throws -> Set<ObjectID> {
        guard !ids.isEmpty else { return [] }
        return try read { db in
            let stmt = try db.cachedStatement(sql: "SELECT 1 FROM objects WHERE id = ? AND pack IS NULL")
            var out = Set<ObjectID>()
            for id in ids where try Int.fetchOne(stmt, arguments: [id]) != nil { out.insert(id) }
            return out
        }
    }
}
