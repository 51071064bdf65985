import GRDB

package struct IndexedObject: Sendable, Equatable {
    package var id: ObjectID
    package var kind: ObjectKind
    package var rawLength: Int
    /// nil when the object is known but its bytes are not stored here.
    package var location: ObjectLocation?
    package var isPresent: Bool { location != nil }
}

extension Index {
    package func object(_ id: ObjectID) throws -> IndexedObject? {
        try read { db in try Self.object(db, id) }
    }

    static func object(_ db: Database, _ id: ObjectID) throws -> IndexedObject? {
        // A cached statement: this runs for every chunk a mount or `cat` reads, and compiling
        // the SQL each time cost more than the lookup itself.
        let stmt = try db.cachedStatement(sql: "SELECT kind, raw_len, pack, offset, stored_len, compression FROM objects WHERE id = ?")
        guard let row = try Row.fetchOne(stmt, arguments: [id]) else { return nil }
        return decode(row, id: id)
    }

    static func decode(_ row: Row, id: ObjectID) -> IndexedObject? {
        guard let kind = ObjectKind(rawValue: UInt8(row[0] as Int64)) else { return nil }
        var loc: ObjectLocation?
        if let pack = row[2] as Int64? {
            loc = ObjectLocation(
                pack: pack, offset: UInt64(row[3] as Int64), storedLength: Int(row[4] as Int64),
                rawLength: Int(row[1] as Int64), compression: PackFormat.Compression(rawValue: UInt8(row[5] as Int64)) ?? .none)
        }
        return IndexedObject(id: id, kind: kind, rawLength: Int(row[1] as Int64), location: loc)
    }

    /// Which of `ids` are present (stored here).
    package func presentSet(_ ids: some Collection<ObjectID>) throws -> Set<ObjectID> {
        guard !ids.isEmpty else { return [] }
        return try read { db in
            var out = Set<ObjectID>()
            let stmt = try db.cachedStatement(sql: "SELECT 1 FROM objects WHERE id = ? AND pack IS NOT NULL")
            for id in ids where try Row.fetchOne(stmt, arguments: [id]) != nil { out.insert(id) }
            return out
        }
    }

    package func packName(_ pack: Int64) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT name FROM packs WHERE id = ?", arguments: [pack]) }
    }

    /// Records durable pack records as present objects (inside a write transaction). `remote`:
    /// their packs are confirmed in the bucket (`PackStorage`), so the local files are a cache.
    static func insert(_ db: Database, records: [PackWriter.Pending], remote: Bool = false) throws {
        var packIDs: [String: Int64] = [:]
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO objects (id, kind, raw_len, pack, offset, stored_len, compression) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET pack = excluded.pack, offset = excluded.offset,
                    stored_len = excluded.stored_len, compression = excluded.compression WHERE objects.pack IS NULL
                """)
        for r in records {
            let pack: Int64
            if let p = packIDs[r.packName] {
                pack = p
            } else {
                try db.execute(sql: "INSERT OR IGNORE INTO packs (name) VALUES (?)", arguments: [r.packName])
                if remote { try db.execute(sql: "UPDATE packs SET remote = 1 WHERE name = ?", arguments: [r.packName]) }
                pack = try Int64.fetchOne(db, sql: "SELECT id FROM packs WHERE name = ?", arguments: [r.packName])!
                packIDs[r.packName] = pack
            }
            try upsert.execute(arguments: [
                r.id, Int64(r.kind.rawValue), Int64(r.location.rawLength), pack,
                Int64(r.location.offset), Int64(r.location.storedLength), Int64(r.location.compression.rawValue)
            ])
        }
    }

    package func objectCount() throws -> (present: Int, absent: Int) {
        try read { db in
            let p = try Int.fetchOne(db, sql: "SELECT count(*) FROM objects WHERE pack IS NOT NULL") ?? 0
            let a = try Int.fetchOne(db, sql: "SELECT count(*) FROM objects WHERE pack IS NULL") ?? 0
            return (p, a)
        }
    }

    /// Present objects stored as deltas (`PackFormat.Compression.zstdDelta`).
    func deltaObjects() throws -> [IndexedObject] {
        try read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT kind, raw_len, pack, offset, stored_len, compression, id FROM objects WHERE pack IS NOT NULL AND compression = ?",
                arguments: [Int64(PackFormat.Compression.zstdDelta.rawValue)]
            )
            .compactMap { row in Self.decode(row, id: row[6]) }
        }
    }

    package func packs() throws -> [(id: Int64, name: String)] {
        try read { db in try Row.fetchAll(db, sql: "SELECT id, name FROM packs ORDER BY id").map { ($0[0], $0[1]) } }
    }

    /// The name of `pack` and whether it is kept in the bucket.
    func packInfo(_ pack: Int64) throws -> (name: String, remote: Bool)? {
        try read { db in
            let stmt = try db.cachedStatement(sql: "SELECT name, remote FROM packs WHERE id = ?")
            return try Row.fetchOne(stmt, arguments: [pack]).map { ($0[0], $0[1]) }
        }
    }

    /// Names of the packs kept in the bucket.
    func remotePackNames() throws -> Set<String> { Set(try remotePacks().keys) }

    /// The packs kept in the bucket: name -> pack id.
    func remotePacks() throws -> [String: Int64] {
        try read { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT name, id FROM packs WHERE remote = 1").map { ($0[0] as String, $0[1] as Int64) },
                uniquingKeysWith: { a, _ in a })
        }
    }
}

extension Index {
    /// The index rows of `ids` (those it has), looked up in one read transaction.
    package func objects(_ ids: some Collection<ObjectID>) throws -> [ObjectID: IndexedObject] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var out: [ObjectID: IndexedObject] = [:]
            let stmt = try db.cachedStatement(sql: "SELECT kind, raw_len, pack, offset, stored_len, compression FROM objects WHERE id = ?")
            for id in ids {
                if let row = try Row.fetchOne(stmt, arguments: [id]), let o = Self.decode(row, id: id) { out[id] = o }
            }
            return out
        }
    }

    /// Ids of objects of `kind` known to exist but not stored here (e.g. chunks of a lazy repo).
    package func absentIDs(kind: ObjectKind) throws -> Set<ObjectID> {
        try read { db in
            Set(try ObjectID.fetchAll(db, sql: "SELECT id FROM objects WHERE pack IS NULL AND kind = ?", arguments: [Int64(kind.rawValue)]))
        }
    }
}
