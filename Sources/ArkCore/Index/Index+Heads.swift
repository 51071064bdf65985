import GRDB

/// A named head: (repo, owner node, name). The name "" is a repo's main head.
package struct HeadRef: Hashable, Sendable, CustomStringConvertible {
    package var repo: String
    package var owner: ObjectID
    package var name: String

    package init(repo: String, owner: ObjectID, name: String = "") {
        self.repo = repo; self.owner = owner; self.name = name
    }

    /// `repo` or `repo/name` (without the owner).
    package var local: String { name.isEmpty ? repo : "\(repo)/\(name)" }
    package var description: String { "\(local)@\(owner.short)" }
}

package struct Head: Sendable, Equatable {
    package var ref: HeadRef
    package var commit: ObjectID
    package var updated: Int64
}

package struct OpLogEntry: Sendable, Equatable {
    package var seq: Int64
    package var time: Int64
    package var actor: ObjectID
    package var ref: HeadRef
    package var old: ObjectID?
    package var new: ObjectID?
    package var cause: String
}

extension Index {
    package func head(_ ref: HeadRef) throws -> ObjectID? {
        try read { db in try Self.head(db, ref) }
    }

    static func head(_ db: Database, _ ref: HeadRef) throws -> ObjectID? {
        try ObjectID.fetchOne(
            db, sql: "SELECT commit_id FROM heads WHERE repo = ? AND owner = ? AND name = ?", arguments: [ref.repo, ref.owner, ref.name])
    }

    package func heads(repo: String? = nil) throws -> [Head] {
        try read { db in
            let rows =
                if let repo {
                    try Row.fetchAll(
                        db, sql: "SELECT repo, owner, name, commit_id, updated FROM heads WHERE repo = ? ORDER BY repo, owner, name",
                        arguments: [repo])
                } else {
                    try Row.fetchAll(db, sql: "SELECT repo, owner, name, commit_id, updated FROM heads ORDER BY repo, owner, name")
                }
            return rows.map { Head(ref: HeadRef(repo: $0[0], owner: $0[1], name: $0[2]), commit: $0[3], updated: $0[4]) }
        }
    }

    /// Moves a head (compare-and-swap against `expected`) and appends to the operation log.
    /// The commit must already be in the index: heads never point at missing history.
    static func setHead(_ db: Database, _ ref: HeadRef, to new: ObjectID?, expected: ObjectID?, actor: ObjectID, cause: String, time: Int64)
        throws
    {
        let current = try head(db, ref)
        guard current == expected else {
            throw ArkError(
                .busy, "head \(ref.local) moved from \(expected?.short ?? "nothing") to \(current?.short ?? "nothing") meanwhile; retry")
        }
        if current == new { return }
        if let new {
            guard try hasCommit(db, new) else { throw ArkError(.missing, "commit \(new) is not in the index") }
            try db.execute(
                sql:
                    "INSERT INTO heads (repo, owner, name, commit_id, updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET commit_id = excluded.commit_id, updated = excluded.updated",
                arguments: [ref.repo, ref.owner, ref.name, new, time])
        } else {
            try db.execute(sql: "DELETE FROM heads WHERE repo = ? AND owner = ? AND name = ?", arguments: [ref.repo, ref.owner, ref.name])
        }
        try db.execute(
            sql: "INSERT INTO oplog (time, actor, repo, owner, name, old, new, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [time, actor, ref.repo, ref.owner, ref.name, current, new, cause])
    }

    package func setHead(_ ref: HeadRef, to new: ObjectID?, expected: ObjectID?, actor: ObjectID, cause: String, time: Int64) throws {
        try write { db in try Self.setHead(db, ref, to: new, expected: expected, actor: actor, cause: cause, time: time) }
    }

    package func oplog(limit: Int?) throws -> [OpLogEntry] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, time, actor, repo, owner, name, old, new, cause FROM oplog ORDER BY seq DESC LIMIT ?",
                arguments: [limit ?? -1]
            ).map {
                OpLogEntry(
                    seq: $0[0], time: $0[1], actor: $0[2], ref: HeadRef(repo: $0[3], owner: $0[4], name: $0[5]), old: $0[6], new: $0[7],
                    cause: $0[8])
            }
        }
    }
}
