import Foundation
import GRDB

/// The map from imported git objects to the ark objects they became, and git commit ids
/// (`source_id`) to ark commits.
extension Index {
    /// The ark object and size a git blob or tree was converted to, if it is still present.
    static func gitObject(_ db: Database, _ gitID: [UInt8]) throws -> (id: ObjectID, size: UInt64)? {
        let stmt = try db.cachedStatement(sql: """
            SELECT m.ark_id, m.size FROM git_objects m JOIN objects o ON o.id = m.ark_id AND o.pack IS NOT NULL
            WHERE m.git_id = ?
            """)
        guard let row = try Row.fetchOne(stmt, arguments: [Data(gitID)]) else { return nil }
        return (row[0], UInt64(row[1] as Int64))
    }

    static func insertGitObject(_ db: Database, _ gitID: [UInt8], id: ObjectID, size: UInt64) throws {
        let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO git_objects (git_id, ark_id, size) VALUES (?, ?, ?)")
        try stmt.execute(arguments: [Data(gitID), id, Int64(size)])
    }

    /// The commit imported from git commit `sourceID` (lowercase hex), preferring `node`'s.
    static func commit(_ db: Database, sourceID: String, node: ObjectID) throws -> ObjectID? {
        let stmt = try db.cachedStatement(sql: "SELECT id FROM commits WHERE source_id = ? ORDER BY node = ? DESC LIMIT 1")
        return try ObjectID.fetchOne(stmt, arguments: [sourceID, node])
    }

    package func commit(sourceID: String, node: ObjectID) throws -> ObjectID? {
        try read { db in try Self.commit(db, sourceID: sourceID, node: node) }
    }

    /// Distinct git commit ids (`source_id`) starting with `prefix` (lowercase hex).
    package func sourceIDs(withPrefix prefix: String, limit: Int = 10) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT source_id FROM commits WHERE source_id >= ? AND source_id < ? ORDER BY source_id LIMIT ?",
                                arguments: [prefix, prefix + "\u{7f}", limit])
        }
    }

    package func gitObjectCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM git_objects") ?? 0 }
    }
}
