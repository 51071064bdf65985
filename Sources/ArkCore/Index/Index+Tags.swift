import Foundation
import GRDB

/// Block tags of stored chunks (table `chunk_tags`, see `BlockTagger`).
extension Index {
    /// A present object and, for a chunk, its block tags if this node has them; one read.
    public func objectForRead(_ id: ObjectID) throws -> (object: IndexedObject, tags: [UInt8]?)? {
        try read { db in
            guard let o = try Self.object(db, id) else { return nil }
            guard o.kind == .chunk, o.isPresent else { return (o, nil) }
            let stmt = try db.cachedStatement(sql: "SELECT tags FROM chunk_tags WHERE id = ?")
            return (o, try Data.fetchOne(stmt, arguments: [id]).map { [UInt8]($0) })
        }
    }

    /// `objectForRead` for many ids in one read transaction (nil where the index has no row).
    public func objectsForRead(_ ids: [ObjectID]) throws -> [(object: IndexedObject, tags: [UInt8]?)?] {
        try read { db in
            let tagStmt = try db.cachedStatement(sql: "SELECT tags FROM chunk_tags WHERE id = ?")
            return try ids.map { id in
                guard let o = try Self.object(db, id) else { return nil }
                guard o.kind == .chunk, o.isPresent else { return (o, nil) }
                return (o, try Data.fetchOne(tagStmt, arguments: [id]).map { [UInt8]($0) })
            }
        }
    }

    /// Records tags of chunks made durable in the same transaction. Tags depend only on the
    /// node key and the chunk's bytes (fixed by its id), so an existing row is never stale.
    static func insertTags(_ db: Database, _ tags: [(ObjectID, [UInt8])]) throws {
        guard !tags.isEmpty else { return }
        let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO chunk_tags (id, tags) VALUES (?, ?)")
        for (id, t) in tags { try stmt.execute(arguments: [id, Data(t)]) }
    }

    static func deleteTags(_ db: Database, _ id: ObjectID) throws {
        try db.cachedStatement(sql: "DELETE FROM chunk_tags WHERE id = ?").execute(arguments: [id])
    }

    public func tagCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunk_tags") ?? 0 }
    }
}
