import Foundation
import GRDB

/// Where snapshots of a store's state go, called inside the index transaction that changed
/// the state, before it commits. Throwing rolls the transaction back.
package typealias StateMirror = @Sendable (StoreState) throws -> Void

/// What the index holds that packs cannot restore: heads and the sync layer's sequence numbers
/// (own announcements, so a recovered node never reuses a sequence number, and the last
/// accepted announcement of each peer head, its rollback protection). Everything else in the
/// index is derivable from the packs (objects, commits) or a cache (tags, stat cache, git ids).
/// Written as JSON to `state/<sequence>` in the bucket, or `<store>/state.json` for a local
/// store, every time it changes; `ark repair index` restores the newest.
package struct StoreState: Codable, Sendable, Equatable {
    package struct HeadRow: Codable, Sendable, Equatable {
        package var repo: String
        package var owner: String
        package var name: String
        package var commit: String
        package var updated: Int64
    }

    package struct AnnouncementRow: Codable, Sendable, Equatable {
        package var repo: String
        /// nil in `own` (this node is the writer).
        package var writer: String?
        package var name: String
        package var seq: Int64
        package var head: String?
        package var announcement: Data
        package var received: Int64?
    }

    package var sequence: UInt64
    /// A random id of the index that wrote it (made with the index): an index recreated after
    /// a loss has another, so its sequence numbers are never taken for this one's.
    package var index: String
    package var time: Int64
    package var heads: [HeadRow] = []
    package var own: [AnnouncementRow] = []
    package var seen: [AnnouncementRow] = []

    package static let format = 1
    package var format = StoreState.format

    package func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return [UInt8]((try? e.encode(self)) ?? Data())
    }

    package init(decoding bytes: [UInt8], what: String) throws {
        do { self = try JSONDecoder().decode(StoreState.self, from: Data(bytes)) } catch {
            throw ArkError(.corrupt, "\(what) is not a store state record: \(error)")
        }
        guard format == Self.format else {
            throw ArkError(.unsupported, "\(what) has state format \(format), this ark reads \(Self.format)")
        }
    }

    init(sequence: UInt64, index: String, time: Int64) { self.sequence = sequence; self.index = index; self.time = time }
}

extension Index {
    /// Pack files kept in a bucket (`packs.remote`), and the trigger-kept flag that the state
    /// `StoreState` mirrors changed.
    static func migrateRemote(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE packs ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE store_state (
                    id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL, dirty INTEGER NOT NULL,
                    index_id TEXT NOT NULL
                );
                INSERT INTO store_state (id, seq, dirty, index_id) VALUES (0, 0, 0, lower(hex(randomblob(8))));
                """)
        for table in ["heads", "sync_own", "sync_seen"] {
            for event in ["INSERT", "UPDATE", "DELETE"] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER \(table)_\(event.lowercased())_state AFTER \(event) ON \(table)
                        BEGIN UPDATE store_state SET dirty = 1 WHERE id = 0; END;
                        """)
            }
        }
    }

    /// Inside a write transaction: when the mirrored state changed, hands a snapshot with the
    /// next sequence number to `mirror`, then records it as written.
    static func mirrorState(_ db: Database, _ mirror: StateMirror) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, dirty, index_id FROM store_state WHERE id = 0"), (row[1] as Int64) != 0
        else { return }
        let seq = UInt64(row[0] as Int64) + 1
        try mirror(try snapshot(db, sequence: seq, index: row[2]))
        try db.execute(sql: "UPDATE store_state SET seq = ?, dirty = 0 WHERE id = 0", arguments: [Int64(seq)])
    }

    static func snapshot(_ db: Database, sequence: UInt64, index: String) throws -> StoreState {
        var s = StoreState(sequence: sequence, index: index, time: Int64(Date().timeIntervalSince1970))
        s.heads = try Row.fetchAll(db, sql: "SELECT repo, owner, name, commit_id, updated FROM heads ORDER BY repo, owner, name").map {
            StoreState.HeadRow(
                repo: $0[0], owner: ($0[1] as ObjectID).hex, name: $0[2], commit: ($0[3] as ObjectID).hex, updated: $0[4])
        }
        s.own = try Row.fetchAll(db, sql: "SELECT repo, name, seq, head, announcement FROM sync_own ORDER BY repo, name").map {
            StoreState.AnnouncementRow(
                repo: $0[0], writer: nil, name: $0[1], seq: $0[2], head: ($0[3] as ObjectID?)?.hex, announcement: $0[4], received: nil)
        }
        s.seen = try Row.fetchAll(
            db, sql: "SELECT repo, writer, name, seq, head, announcement, received FROM sync_seen ORDER BY repo, writer, name"
        ).map {
            StoreState.AnnouncementRow(
                repo: $0[0], writer: ($0[1] as ObjectID).hex, name: $0[2], seq: $0[3], head: ($0[4] as ObjectID?)?.hex,
                announcement: $0[5], received: $0[6])
        }
        return s
    }

    /// The sequence number of the last state snapshot written.
    package func stateSequence() throws -> UInt64 { try stateIdentity().sequence }

    /// Writes the state record again (the next sequence number) from what the index holds.
    func rewriteState() throws {
        try write { db in try db.execute(sql: "UPDATE store_state SET dirty = 1 WHERE id = 0") }
    }

    /// The sequence number of the last state snapshot written and this index's id.
    package func stateIdentity() throws -> (sequence: UInt64, index: String) {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT seq, index_id FROM store_state WHERE id = 0") else { return (0, "") }
            return (UInt64(row[0] as Int64), row[1])
        }
    }

    /// Restores `state` into this index (`ark repair index`): a head the index lacks is set to
    /// the recorded commit, which must be in the index (heads never point at missing history);
    /// sync rows are kept where the index has a higher sequence number. Sync rows alone never
    /// make the index differ from the record in a way that matters: they only move forward. Returns the heads set
    /// and those skipped because their commit is missing.
    static func restore(_ db: Database, _ state: StoreState, actor: ObjectID, time: Int64) throws -> (restored: Int, skipped: [String]) {
        var restored = 0
        var skipped: [String] = []
        for h in state.heads {
            guard let owner = ObjectID(hex: h.owner), let commit = ObjectID(hex: h.commit) else {
                throw ArkError(.corrupt, "state \(state.sequence) holds a malformed head \(h.repo)/\(h.name)")
            }
            let ref = HeadRef(repo: h.repo, owner: owner, name: h.name)
            guard try Self.head(db, ref) == nil else { continue }
            guard try Self.hasCommit(db, commit) else { skipped.append("\(ref) -> \(commit.short)"); continue }
            try Self.setHead(db, ref, to: commit, expected: nil, actor: actor, cause: "repair index", time: time)
            try db.execute(
                sql: "UPDATE heads SET updated = ? WHERE repo = ? AND owner = ? AND name = ?",
                arguments: [h.updated, ref.repo, ref.owner, ref.name])
            restored += 1
        }
        for a in state.own {
            try db.execute(
                sql: """
                    INSERT INTO sync_own (repo, name, seq, head, announcement) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET seq = excluded.seq, head = excluded.head, announcement = excluded.announcement
                    WHERE excluded.seq > sync_own.seq
                    """, arguments: [a.repo, a.name, a.seq, a.head.flatMap(ObjectID.init(hex:)), a.announcement])
        }
        for a in state.seen {
            guard let writer = a.writer.flatMap(ObjectID.init(hex:)) else { continue }
            try db.execute(
                sql: """
                    INSERT INTO sync_seen (repo, writer, name, seq, head, announcement, received) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET seq = excluded.seq, head = excluded.head, announcement = excluded.announcement,
                        received = excluded.received WHERE excluded.seq > sync_seen.seq
                    """,
                arguments: [a.repo, writer, a.name, a.seq, a.head.flatMap(ObjectID.init(hex:)), a.announcement, a.received ?? 0])
        }
        // The rebuilt index continues the one that wrote `state`: it takes over its id and
        // sequence number (unless it has written further itself), and mirrors a new state only
        // if its heads now differ from the record's.
        let own = try Row.fetchOne(db, sql: "SELECT seq FROM store_state WHERE id = 0").map { UInt64($0[0] as Int64) } ?? 0
        if own <= state.sequence {
            let same =
                try snapshot(db, sequence: state.sequence, index: state.index).heads.map { [$0.repo, $0.owner, $0.name, $0.commit] }
                == state.heads.map { [$0.repo, $0.owner, $0.name, $0.commit] }
            try db.execute(
                sql: "UPDATE store_state SET seq = ?, index_id = ?, dirty = ? WHERE id = 0",
                arguments: [Int64(state.sequence), state.index, same ? 0 : 1])
        } else {
            try db.execute(sql: "UPDATE store_state SET dirty = 1 WHERE id = 0")
        }
        return (restored, skipped)
    }
}
