import Foundation
import GRDB

/// A signed head announcement as the sync layer stored it: the opaque signed bytes plus the
/// fields the index queries by.
package struct StoredAnnouncement: Sendable, Equatable {
    package var repo: String
    package var writer: ObjectID
    package var name: String
    package var seq: UInt64
    package var head: ObjectID?
    package var bytes: [UInt8]

    package init(repo: String, writer: ObjectID, name: String, seq: UInt64, head: ObjectID?, bytes: [UInt8]) {
        self.repo = repo; self.writer = writer; self.name = name; self.seq = seq; self.head = head; self.bytes = bytes
    }
}

/// Rows of the `sync-v1` migration: replay/rollback protection, own sequence numbers and
/// equivocation proofs for gossip of heads.
extension Index {
    /// The last accepted announcement of (repo, writer, name).
    package func lastSeen(repo: String, writer: ObjectID, name: String) throws -> StoredAnnouncement? {
        try read { db in
            try Row.fetchOne(
                db, sql: "SELECT seq, head, announcement FROM sync_seen WHERE repo = ? AND writer = ? AND name = ?",
                arguments: [repo, writer, name]
            ).map {
                StoredAnnouncement(
                    repo: repo, writer: writer, name: name, seq: UInt64(bitPattern: $0[0]), head: $0[1], bytes: [UInt8]($0[2] as Data))
            }
        }
    }

    /// What `recordSeen` did with an announcement.
    package enum SeenOutcome: Sendable, Equatable {
        case recorded
        /// Its sequence number is not above the stored one (a newer one raced it in).
        case stale
        /// A new head name of a writer that already has `maxNamesPerWriter` in this repo.
        case overLimit
    }

    /// Records `a` as the latest accepted announcement if its sequence number is above the
    /// stored one, and, for a head name not seen yet from its writer, if the writer has fewer
    /// than `maxNamesPerWriter` names in the repo (checked in the same transaction).
    package func recordSeen(_ a: StoredAnnouncement, time: Int64, maxNamesPerWriter: Int = .max) throws -> SeenOutcome {
        try write { db in
            let current = try Int64.fetchOne(
                db, sql: "SELECT seq FROM sync_seen WHERE repo = ? AND writer = ? AND name = ?",
                arguments: [a.repo, a.writer, a.name])
            if let current, UInt64(bitPattern: current) >= a.seq { return .stale }
            if current == nil {
                let names =
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_seen WHERE repo = ? AND writer = ?", arguments: [a.repo, a.writer])
                    ?? 0
                if names >= maxNamesPerWriter { return .overLimit }
            }
            try db.execute(
                sql: """
                    INSERT INTO sync_seen (repo, writer, name, seq, head, announcement, received) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET seq = excluded.seq, head = excluded.head, announcement = excluded.announcement, received = excluded.received
                    """, arguments: [a.repo, a.writer, a.name, Int64(bitPattern: a.seq), a.head, Data(a.bytes), time])
            return .recorded
        }
    }

    /// True if an announcement of `ref` above `seq` was accepted (false when `seq` is nil).
    static func seenAbove(_ db: Database, _ ref: HeadRef, seq: UInt64?) throws -> Bool {
        guard let seq else { return false }
        let last = try Int64.fetchOne(
            db, sql: "SELECT seq FROM sync_seen WHERE repo = ? AND writer = ? AND name = ?",
            arguments: [ref.repo, ref.owner, ref.name])
        return last.map { UInt64(bitPattern: $0) > seq } ?? false
    }

    /// Every accepted announcement of other writers for `repo`.
    package func seenAnnouncements(repo: String) throws -> [StoredAnnouncement] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT writer, name, seq, head, announcement FROM sync_seen WHERE repo = ? ORDER BY writer, name",
                arguments: [repo]
            ).map {
                StoredAnnouncement(
                    repo: repo, writer: $0[0], name: $0[1], seq: UInt64(bitPattern: $0[2]), head: $0[3], bytes: [UInt8]($0[4] as Data))
            }
        }
    }

    /// This node's last announcement of (repo, name).
    package func ownAnnouncement(repo: String, name: String) throws -> StoredAnnouncement? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT seq, head, announcement FROM sync_own WHERE repo = ? AND name = ?", arguments: [repo, name])
                .map {
                    StoredAnnouncement(
                        repo: repo, writer: ObjectID(bytes: [UInt8](repeating: 0, count: 32)), name: name,
                        seq: UInt64(bitPattern: $0[0]), head: $0[1], bytes: [UInt8]($0[2] as Data))
                }
        }
    }

    package func ownAnnouncements(repo: String) throws -> [StoredAnnouncement] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, seq, head, announcement FROM sync_own WHERE repo = ? ORDER BY name", arguments: [repo])
                .map {
                    StoredAnnouncement(
                        repo: repo, writer: ObjectID(bytes: [UInt8](repeating: 0, count: 32)), name: $0[0],
                        seq: UInt64(bitPattern: $0[1]), head: $0[2], bytes: [UInt8]($0[3] as Data))
                }
        }
    }

    /// Signs and stores this node's next announcement of (repo, name) pointing at `head`, in
    /// one transaction, so two processes on one store never hand out the same sequence number.
    /// `sign(seq, previous)` returns the signed bytes. Returns nil when the last announcement
    /// already points at `head`.
    package func nextOwnAnnouncement(
        repo: String, name: String, head: ObjectID, writer: ObjectID,
        sign: (_ seq: UInt64, _ previous: ObjectID?) throws -> [UInt8]
    ) throws -> StoredAnnouncement? {
        try write { db in
            let row = try Row.fetchOne(db, sql: "SELECT seq, head FROM sync_own WHERE repo = ? AND name = ?", arguments: [repo, name])
            let last: UInt64? = row.map { UInt64(bitPattern: $0[0]) }
            let previous: ObjectID? = row?[1]
            if last != nil, previous == head { return nil }
            let seq = (last ?? 0) + 1
            let a = StoredAnnouncement(repo: repo, writer: writer, name: name, seq: seq, head: head, bytes: try sign(seq, previous))
            try Self.upsertOwn(db, a)
            return a
        }
    }

    /// Takes `a`, an announcement this node signed earlier that a peer reported back, as its
    /// last announcement of (repo, name) if its sequence number is above the stored one (the
    /// index was lost or restored from an older copy), or equal to it for another head. Returns
    /// whether it was taken.
    package func learnOwn(_ a: StoredAnnouncement) throws -> Bool {
        try write { db in
            let row = try Row.fetchOne(db, sql: "SELECT seq, head FROM sync_own WHERE repo = ? AND name = ?", arguments: [a.repo, a.name])
            if let row {
                let seq = UInt64(bitPattern: row[0])
                let head: ObjectID? = row[1]
                // Same number for another head: this node already reused it; the next goes above.
                if seq > a.seq || (seq == a.seq && head == a.head) { return false }
            }
            try Self.upsertOwn(db, a)
            return true
        }
    }

    /// Stores this node's announcement `a` (sequence `a.seq`) for (repo, name), replacing the previous one.
    package func recordOwn(_ a: StoredAnnouncement) throws {
        try write { db in try Self.upsertOwn(db, a) }
    }

    static func upsertOwn(_ db: Database, _ a: StoredAnnouncement) throws {
        try db.execute(
            sql: """
                INSERT INTO sync_own (repo, name, seq, head, announcement) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET seq = excluded.seq, head = excluded.head, announcement = excluded.announcement
                """, arguments: [a.repo, a.name, Int64(bitPattern: a.seq), a.head, Data(a.bytes)])
    }

    /// Keeps both signed announcements of an equivocation (same writer, head name and sequence
    /// number, different heads). Returns false when this pair was already recorded.
    package func recordEquivocation(first: StoredAnnouncement, second: StoredAnnouncement, time: Int64) throws -> Bool {
        try write { db in
            try db.execute(
                sql:
                    "INSERT OR IGNORE INTO sync_equivocations (repo, writer, name, seq, first, second, detected) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    second.repo, second.writer, second.name, Int64(bitPattern: second.seq), Data(first.bytes), Data(second.bytes), time
                ])
            return db.changesCount > 0
        }
    }

    /// Recorded equivocations of `repo` as (first, second) signed announcement bytes.
    package func equivocations(repo: String) throws -> [(first: [UInt8], second: [UInt8])] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT first, second FROM sync_equivocations WHERE repo = ? ORDER BY writer, name, seq", arguments: [repo]
            ).map {
                ([UInt8]($0[0] as Data), [UInt8]($0[1] as Data))
            }
        }
    }

    /// Commits reachable from every head of `repo` (all owners) with their generations.
    package func reachableCommits(repo: String) throws -> [(id: ObjectID, generation: Int64)] {
        try read { db in
            let sql = """
                WITH RECURSIVE reach(id) AS (
                    SELECT commit_id FROM heads WHERE repo = ?
                    UNION SELECT p.parent FROM commit_parents p JOIN reach r ON p.child = r.id
                )
                SELECT id, generation FROM commits WHERE id IN (SELECT id FROM reach)
                """
            return try Row.fetchAll(db, sql: sql, arguments: [repo]).map { ($0[0], $0[1]) }
        }
    }

    /// Records objects known to exist (from a verified manifest) whose bytes are not stored
    /// here: rows with no pack. Existing rows are left alone.
    static func insertAbsent(_ db: Database, _ objects: [(id: ObjectID, kind: ObjectKind, rawLength: Int)]) throws {
        let stmt = try db.cachedStatement(sql: "INSERT OR IGNORE INTO objects (id, kind, raw_len) VALUES (?, ?, ?)")
        for o in objects { try stmt.execute(arguments: [o.id, Int64(o.kind.rawValue), Int64(o.rawLength)]) }
    }

    package func insertAbsent(_ objects: [(id: ObjectID, kind: ObjectKind, rawLength: Int)]) throws {
        guard !objects.isEmpty else { return }
        try write { db in try Self.insertAbsent(db, objects) }
    }
}
