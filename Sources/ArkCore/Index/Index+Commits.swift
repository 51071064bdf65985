import Foundation
import GRDB

/// A commit as the index knows it: enough for `log` and history queries without reading objects.
package struct CommitSummary: Sendable, Equatable {
    package var id: ObjectID
    package var tree: ObjectID
    package var generation: Int64
    package var parents: [ObjectID]
    package var authorName: String
    package var authorEmail: String
    package var authorTime: Int64
    package var authorTZ: Int16
    package var committerTime: Int64
    package var committerTZ: Int16
    package var message: String
    package var changeID: String?
    package var sourceID: String?
    package var node: ObjectID
}

extension Index {
    static let commitColumns =
        "id, tree, generation, author_name, author_email, author_time, author_tz, committer_time, committer_tz, message, change_id, source_id, node"

    static func summary(_ db: Database, _ row: Row) throws -> CommitSummary {
        let id: ObjectID = row[0]
        let parents = try ObjectID.fetchAll(db, sql: "SELECT parent FROM commit_parents WHERE child = ? ORDER BY position", arguments: [id])
        return CommitSummary(
            id: id, tree: row[1], generation: row[2], parents: parents, authorName: row[3], authorEmail: row[4],
            authorTime: row[5], authorTZ: Int16(row[6] as Int64), committerTime: row[7], committerTZ: Int16(row[8] as Int64),
            message: row[9], changeID: row[10], sourceID: row[11], node: row[12])
    }

    package func commit(_ id: ObjectID) throws -> CommitSummary? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.commitColumns) FROM commits WHERE id = ?", arguments: [id]).map {
                try Self.summary(db, $0)
            }
        }
    }

    package func hasCommit(_ id: ObjectID) throws -> Bool {
        try read { db in try Self.hasCommit(db, id) }
    }

    static func hasCommit(_ db: Database, _ id: ObjectID) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM commits WHERE id = ?", arguments: [id]) ?? false
    }

    /// Records a commit whose object, tree closure and parents are already durable and indexed.
    static func insertCommit(_ db: Database, id: ObjectID, _ c: Commit) throws {
        guard !(try hasCommit(db, id)) else { return }
        var generation: Int64 = 1
        for p in c.parents {
            guard let g = try Int64.fetchOne(db, sql: "SELECT generation FROM commits WHERE id = ?", arguments: [p]) else {
                throw ArkError(.missing, "parent commit \(p) is not in the index", context: "commit \(id)")
            }
            generation = max(generation, g + 1)
        }
        try db.execute(
            sql: "INSERT INTO commits (\(commitColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                id, c.tree, generation, c.author.name, c.author.email, c.author.time, Int64(c.author.tzOffsetMinutes),
                c.committer.time, Int64(c.committer.tzOffsetMinutes), c.message, c.changeID, c.sourceID, c.node
            ])
        for (i, p) in c.parents.enumerated() {
            try db.execute(sql: "INSERT INTO commit_parents (child, position, parent) VALUES (?, ?, ?)", arguments: [id, i, p])
        }
    }

    /// Commits reachable from `heads`, newest first (by generation, then committer time).
    package func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] {
        guard !heads.isEmpty else { return [] }
        return try read { db in
            let placeholders = heads.map { _ in "?" }.joined(separator: ",")
            let sql = """
                WITH RECURSIVE reach(id) AS (
                    SELECT id FROM commits WHERE id IN (\(placeholders))
                    UNION SELECT p.parent FROM commit_parents p JOIN reach r ON p.child = r.id
                )
                SELECT \(Self.commitColumns) FROM commits WHERE id IN (SELECT id FROM reach)
                ORDER BY generation DESC, committer_time DESC, id LIMIT ?
                """
            var args = StatementArguments(heads)
            args += [limit ?? -1]
            return try Row.fetchAll(db, sql: sql, arguments: args).map { try Self.summary(db, $0) }
        }
    }

    /// Commit ids whose hex form starts with `prefix` (lowercase hex, 1...64 chars).
    package func commits(withPrefix prefix: String, limit: Int = 10) throws -> [ObjectID] {
        let (lo, hi) = Self.prefixRange(prefix)
        return try read { db in
            if let hi {
                return try ObjectID.fetchAll(
                    db, sql: "SELECT id FROM commits WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", arguments: [lo, hi, limit])
            }
            return try ObjectID.fetchAll(db, sql: "SELECT id FROM commits WHERE id >= ? ORDER BY id LIMIT ?", arguments: [lo, limit])
        }
    }

    /// Byte range [lo, hi) of ids with the given hex prefix; hi is nil when unbounded.
    static func prefixRange(_ prefix: String) -> (Data, Data?) {
        let nibbles = prefix.utf8.map { HexCodec.nibble($0)! }
        var lo = [UInt8](repeating: 0, count: (nibbles.count + 1) / 2)
        for (i, n) in nibbles.enumerated() { lo[i / 2] |= i % 2 == 0 ? n << 4 : n }
        // Upper bound: increment the prefix as a number at nibble granularity.
        var hi = lo
        let step: UInt8 = nibbles.count % 2 == 0 ? 1 : 0x10
        var i = hi.count - 1
        var carry = step
        while i >= 0 {
            let (v, o) = hi[i].addingReportingOverflow(carry)
            hi[i] = v
            if !o { return (Data(lo), Data(hi)) }
            carry = 1; i -= 1
        }
        return (Data(lo), nil)
    }

    package func commits(changeID: String) throws -> [ObjectID] {
        try read { db in
            try ObjectID.fetchAll(db, sql: "SELECT id FROM commits WHERE change_id = ? ORDER BY generation DESC", arguments: [changeID])
        }
    }

    package func commitCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM commits") ?? 0 }
    }
}

extension Index {
    package func commits(changeIDPrefix prefix: String) throws -> [ObjectID] {
        try read { db in
            try ObjectID.fetchAll(
                db, sql: "SELECT id FROM commits WHERE change_id >= ? AND change_id < ? LIMIT 20", arguments: [prefix, prefix + "\u{7f}"])
        }
    }
}

extension Index {
    /// The root tree of every commit in the graph.
    func commitTrees() throws -> [ObjectID] {
        try read { db in try ObjectID.fetchAll(db, sql: "SELECT tree FROM commits") }
    }
}
