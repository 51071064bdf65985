import GRDB

extension Index {
    /// The present objects stored in `pack`, in offset order: gc and verify go pack by pack
    /// instead of loading every object of the index at once.
    package func objects(inPack pack: Int64) throws -> [IndexedObject] {
        try read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT kind, raw_len, pack, offset, stored_len, compression, id FROM objects WHERE pack = ? ORDER BY offset"),
                arguments: [pack]
            )
            .compactMap { row in Self.decode(row, id: row[6]) }
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
