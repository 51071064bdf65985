import Foundation
import GRDB

/// The map from imported git objects to the ark objects they became, and git commit ids
/// (`source_id`) to ark commits.
extension Index {
    /// The ark object and size a git blob or tree was converted to, if it is still present and
    /// its git form hashes to `gitID` (a conversion by an older ark, which dropped git modes,
    /// has no `git_ids` row and is converted again).
    static func gitObject(_ db: Database, _ gitID: [UInt8]) throws -> (id: ObjectID, size: UInt64)? {
        let stmt = try db.cachedStatement(
            sql: """
                SELECT m.ark_id, m.size FROM git_objects m JOIN objects o ON o.id = m.ark_id AND o.pack IS NOT NULL
                JOIN git_ids g ON g.ark_id = m.ark_id AND g.git_id = m.git_id
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
            try String.fetchAll(
                db, sql: "SELECT DISTINCT source_id FROM commits WHERE source_id >= ? AND source_id < ? ORDER BY source_id LIMIT ?",
                arguments: [prefix, prefix + "\u{7f}", limit])
        }
    }

    /// The git id of an ark object, if computed before (see `GitObjectIDs`).
    static func gitID(_ db: Database, of arkID: ObjectID) throws -> [UInt8]? {
        let stmt = try db.cachedStatement(sql: "SELECT git_id FROM git_ids WHERE ark_id = ?")
        return try Data.fetchOne(stmt, arguments: [arkID]).map { Array($0) }
    }

    package func gitID(of arkID: ObjectID) throws -> [UInt8]? { try read { db in try Self.gitID(db, of: arkID) } }

    /// The known git ids of `arkIDs`, in one read transaction (absent ids are left out).
    package func gitIDs(of arkIDs: [ObjectID]) throws -> [ObjectID: [UInt8]] {
        guard !arkIDs.isEmpty else { return [:] }
        return try read { db in
            var out: [ObjectID: [UInt8]] = [:]
            for id in arkIDs { if let g = try Self.gitID(db, of: id) { out[id] = g } }
            return out
        }
    }

    static func insertGitID(_ db: Database, _ arkID: ObjectID, _ gitID: [UInt8]) throws {
        let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO git_ids (ark_id, git_id) VALUES (?, ?)")
        try stmt.execute(arguments: [arkID, Data(gitID)])
    }

    /// Every known ark id -> git id, when there are at most `limit` (else nil): one query
    /// instead of one per object for a fetch that touches most of them.
    package func allGitIDs(limit: Int) throws -> [ObjectID: [UInt8]]? {
        try read { db in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM git_ids") ?? 0 <= limit else { return nil }
            var out: [ObjectID: [UInt8]] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT ark_id, git_id FROM git_ids")
            while let row = try rows.next() {
                let g: Data = row[1]
                out[row[0]] = Array(g)
            }
            return out
        }
    }

    package func insertGitIDs(_ rows: [(ObjectID, [UInt8])]) throws {
        guard !rows.isEmpty else { return }
        try write { db in for (a, g) in rows { try Self.insertGitID(db, a, g) } }
    }

    /// The ark commit whose git form has id `gitID`, preferring `node`'s.
    static func commit(_ db: Database, gitID: [UInt8], node: ObjectID) throws -> ObjectID? {
        let stmt = try db.cachedStatement(
            sql: """
                SELECT g.ark_id FROM git_ids g JOIN commits c ON c.id = g.ark_id WHERE g.git_id = ?
                ORDER BY c.node = ? DESC LIMIT 1
                """)
        return try ObjectID.fetchOne(stmt, arguments: [Data(gitID), node])
    }

    package func commit(gitID: [UInt8], node: ObjectID) throws -> ObjectID? {
        try read { db in try Self.commit(db, gitID: gitID, node: node) }
    }

    package func gitObjectCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM git_objects") ?? 0 }
    }
}
