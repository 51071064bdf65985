import GRDB

/// A named head: (repo, owner node, name). The name "" is a repo's main head.
public struct HeadRef: Hashable, Sendable, CustomStringConvertible {
    public var repo: String
    public var owner: ObjectID
    public var name: String

    public init(repo: String, owner: ObjectID, name: String = "") {
        self.repo = repo; self.owner = owner; self.name = name
    }

    /// `repo` or `repo/name` (without the owner).
    public var local: String { name.isEmpty ? repo : "\(repo)/\(name)" }
    public var description: String { "\(local)@\(owner.short)" }
}

public struct Head: Sendable, Equatable {
    public var ref: HeadRef
    public var commit: ObjectID
    public var updated: Int64
}

public struct OpLogEntry: Sendable, Equatable {
    public var seq: Int64
    public var time: Int64
    public var actor: ObjectID
    public var ref: HeadRef
    public var old: ObjectID?
    public var new: ObjectID?
    public var cause: String
}

extension Index {
    public func head(_ ref: HeadRef) throws -> ObjectID? {
        try read { db in try Self.head(db, ref) }
    }

    static func head(_ db: Database, _ ref: HeadRef) throws -> ObjectID? {
        try ObjectID.fetchOne(db, sql: "SELECT commit_id FROM heads WHERE repo = ? AND owner = ? AND name = ?", arguments: [ref.repo, ref.owner, ref.name])
    }

    public func heads(repo: String? = nil) throws -> [Head] {
        try read { db in
            let rows = if let repo {
                try Row.fetchAll(db, sql: "SELECT repo, owner, name, commit_id, updated FROM heads WHERE repo = ? ORDER BY repo, owner, name", arguments: [repo])
            } else {
                try Row.fetchAll(db, sql: "SELECT repo, owner, name, commit_id, updated FROM heads ORDER BY repo, owner, name")
            }
            return rows.map { Head(ref: HeadRef(repo: $0[0], owner: $0[1], name: $0[2]), commit: $0[3], updated: $0[4]) }
        }
    }

    /// Moves a head (compare-and-swap against `expected`) and appends to the operation log.
    /// The commit must already be in the index: heads never point at missing history.
    static func setHead(_ db: Database, _ ref: HeadRef, to new: ObjectID?, expected: ObjectID?, actor: ObjectID, cause: String, time: Int64) throws {
        let current = try head(db, ref)
        guard current == expected else {
            throw ArkError(.busy, "head \(ref.local) moved from \(expected?.short ?? "nothing") to \(current?.short ?? "nothing") meanwhile; retry")
        }
        if current == new { return }
        if let new {
            guard try hasCommit(db, new) else { throw ArkError(.missing, "commit \(new) is not in the index") }
            try db.execute(sql: "INSERT INTO heads (repo, owner, name, commit_id, updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET commit_id = excluded.commit_id, updated = excluded.updated",
                           arguments: [ref.repo, ref.owner, ref.name, new, time])
        } else {
            try db.execute(sql: "DELETE FROM heads WHERE repo = ? AND owner = ? AND name = ?", arguments: [ref.repo, ref.owner, ref.name])
        }
        try db.execute(sql: "INSERT INTO oplog (time, actor, repo, owner, name, old, new, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       arguments: [time, actor, ref.repo, ref.owner, ref.name, current, new, cause])
    }

    public func setHead(_ ref: HeadRef, to new: ObjectID?, expected: ObjectID?, actor: ObjectID, cause: String, time: Int64) throws {
        try write { db in try Self.setHead(db, ref, to: new, expected: expected, actor: actor, cause: cause, time: time) }
    }

    public func oplog(limit: Int?) throws -> [OpLogEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT seq, time, actor, repo, owner, name, old, new, cause FROM oplog ORDER BY seq DESC LIMIT ?", arguments: [limit ?? -1]).map {
                OpLogEntry(seq: $0[0], time: $0[1], actor: $0[2], ref: HeadRef(repo: $0[3], owner: $0[4], name: $0[5]), old: $0[6], new: $0[7], cause: $0[8])
            }
        }
    }
}
