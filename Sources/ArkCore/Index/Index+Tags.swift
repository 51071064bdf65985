import Foundation
import GRDB

/// Block tags of stored chunks and large manifests (table `chunk_tags`, see `BlockTagger`).
extension Index {
    /// A present object and, for a chunk or a large manifest, its block tags if this node has
    /// them; one read.
    package func objectForRead(_ id: ObjectID) throws -> (object: IndexedObject, tags: [UInt8]?)? {
        try read { db in try Self.objectForRead(db, id) }
    }

    /// `objectForRead` for many ids in one read transaction (nil where the index has no row).
    package func objectsForRead(_ ids: [ObjectID]) throws -> [(object: IndexedObject, tags: [UInt8]?)?] {
        try read { db in try ids.map { try Self.objectForRead(db, $0) } }
    }

    /// One statement for both rows: on a mount's first byte every statement step counts.
    static func objectForRead(_ db: Database, _ id: ObjectID) throws -> (object: IndexedObject, tags: [UInt8]?)? {
        let stmt = try db.cachedStatement(
            sql: """
                SELECT o.kind, o.raw_len, o.pack, o.offset, o.stored_len, o.compression, t.tags
                FROM objects o LEFT JOIN chunk_tags t ON t.id = o.id WHERE o.id = ?
                """)
        guard let row = try Row.fetchOne(stmt, arguments: [id]), let o = decode(row, id: id) else { return nil }
        guard o.kind == .chunk || o.kind == .manifest, o.isPresent else { return (o, nil) }
        // A tags value of the wrong type (a damaged index) reads as no tags, never a crash.
        return (o, Data.fromDatabaseValue(row[6] as DatabaseValue).map { [UInt8]($0) })
    }

    /// Some chunk with block tags (to exercise the read path when a mount starts).
    func anyTaggedObject() throws -> ObjectID? {
        try read { db in
            try ObjectID.fetchOne(
                db, sql: "SELECT t.id FROM chunk_tags t JOIN objects o ON o.id = t.id WHERE o.kind = ? LIMIT 1",
                arguments: [Int64(ObjectKind.chunk.rawValue)])
        }
    }

    /// Some present chunk (a store of small files has no tagged one).
    func anyChunk() throws -> ObjectID? {
        try read { db in
            try ObjectID.fetchOne(
                db, sql: "SELECT id FROM objects WHERE kind = ? AND pack IS NOT NULL LIMIT 1",
                arguments: [Int64(ObjectKind.chunk.rawValue)])
        }
    }

    /// Records tags of chunks made durable in the same transaction. Tags depend only on the
    /// store's tag key and the chunk's bytes (fixed by its id), so an existing row is never
    /// stale.
    static func insertTags(_ db: Database, _ tags: [(ObjectID, [UInt8])]) throws {
        guard !tags.isEmpty else { return }
        let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO chunk_tags (id, tags) VALUES (?, ?)")
        for (id, t) in tags { try stmt.execute(arguments: [id, Data(t)]) }
    }

    /// Records tags of objects verified after they were stored, where the object is still
    /// stored here (gc may have deleted it since; its tags then stay deleted too).
    static func insertTagsOfPresent(_ db: Database, _ tags: [(ObjectID, [UInt8])]) throws {
        let stmt = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO chunk_tags (id, tags)
                SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM objects WHERE id = ?1 AND pack IS NOT NULL)
                """)
        for (id, t) in tags { try stmt.execute(arguments: [id, Data(t)]) }
    }

    static func deleteTags(_ db: Database, _ id: ObjectID) throws {
        try db.cachedStatement(sql: "DELETE FROM chunk_tags WHERE id = ?").execute(arguments: [id])
    }

    package func tagCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk_tags") ?? 0 }
    }
}
