import Foundation
import GRDB

/// The SQLite index of a store (`<store>/index.sqlite`, WAL): which objects exist and where
/// their bytes are, the commit graph, heads and the operation log. Many readers and one
/// writer at a time, across processes.
package final class Index: Sendable {
    let pool: DatabasePool
    package let path: String
    /// Receives a snapshot of the state packs cannot restore (heads, sync sequence numbers)
    /// inside every write transaction that changed it, before the transaction commits
    /// (`StoreState`); a throw rolls the transaction back.
    let stateMirror: StateMirror?

    package init(path: String, stateMirror: StateMirror? = nil) throws {
        self.path = path
        self.stateMirror = stateMirror
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.journalMode = .wal
        config.prepareDatabase { db in
            // FULL: a committed transaction survives power loss, not just a process crash.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch let e as DatabaseError {
            throw ArkError(.io, "cannot open index \(path): \(e.message ?? "\(e.resultCode)")")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE packs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
                    CREATE TABLE objects (
                        id BLOB PRIMARY KEY NOT NULL, kind INTEGER NOT NULL, raw_len INTEGER NOT NULL,
                        pack INTEGER REFERENCES packs(id), offset INTEGER, stored_len INTEGER,
                        compression INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID;
                    CREATE INDEX objects_pack ON objects(pack);
                    CREATE TABLE commits (
                        id BLOB PRIMARY KEY NOT NULL, tree BLOB NOT NULL, generation INTEGER NOT NULL,
                        author_name TEXT NOT NULL, author_email TEXT NOT NULL, author_time INTEGER NOT NULL,
                        author_tz INTEGER NOT NULL, committer_time INTEGER NOT NULL, committer_tz INTEGER NOT NULL,
                        message TEXT NOT NULL, change_id TEXT, source_id TEXT, node BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX commits_generation ON commits(generation, id);
                    CREATE INDEX commits_change ON commits(change_id) WHERE change_id IS NOT NULL;
                    CREATE INDEX commits_source ON commits(source_id) WHERE source_id IS NOT NULL;
                    CREATE TABLE commit_parents (
                        child BLOB NOT NULL, position INTEGER NOT NULL, parent BLOB NOT NULL,
                        PRIMARY KEY (child, position)
                    ) WITHOUT ROWID;
                    CREATE INDEX commit_parents_parent ON commit_parents(parent);
                    CREATE TABLE heads (
                        repo TEXT NOT NULL, owner BLOB NOT NULL, name TEXT NOT NULL,
                        commit_id BLOB NOT NULL, updated INTEGER NOT NULL,
                        PRIMARY KEY (repo, owner, name)
                    ) WITHOUT ROWID;
                    CREATE TABLE oplog (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, actor BLOB NOT NULL,
                        repo TEXT NOT NULL, owner BLOB NOT NULL, name TEXT NOT NULL,
                        old BLOB, new BLOB, cause TEXT NOT NULL
                    );
                    CREATE TABLE stat_cache (
                        path TEXT PRIMARY KEY NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,
                        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
                        manifest BLOB NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("import-v1") { db in
            // Objects converted from a git repository: git blob -> manifest, git tree -> tree.
            try db.execute(
                sql: """
                    CREATE TABLE git_objects (
                        git_id BLOB PRIMARY KEY NOT NULL, ark_id BLOB NOT NULL, size INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("sync-v1") { db in
            // Peer-to-peer sync: the last signed head announcement accepted per (repo, writer, head
            // name), this node's own announcement sequence per (repo, head name), and equivocation
            // proofs (two signed announcements with the same sequence number and different heads).
            try db.execute(
                sql: """
                    CREATE TABLE sync_seen (
                        repo TEXT NOT NULL, writer BLOB NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,
                        head BLOB NOT NULL, announcement BLOB NOT NULL, received INTEGER NOT NULL,
                        PRIMARY KEY (repo, writer, name)
                    ) WITHOUT ROWID;
                    CREATE TABLE sync_own (
                        repo TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL, head BLOB,
                        announcement BLOB NOT NULL, PRIMARY KEY (repo, name)
                    ) WITHOUT ROWID;
                    CREATE TABLE sync_equivocations (
                        repo TEXT NOT NULL, writer BLOB NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,
                        first BLOB NOT NULL, second BLOB NOT NULL, detected INTEGER NOT NULL,
                        PRIMARY KEY (repo, writer, name, seq, second)
                    ) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("cache-v1") { db in
            // Chunks fetched on demand for a mount of a lazy repo: an evictable cache, bounded by
            // `[store] cache_limit`. A chunk leaves this table (is kept for good) once an own commit
            // or a `full` repo needs it.
            try db.execute(
                sql: """
                    CREATE TABLE chunk_cache (
                        id BLOB PRIMARY KEY NOT NULL, bytes INTEGER NOT NULL, last_used INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX chunk_cache_lru ON chunk_cache(last_used);
                    """)
        }
        m.registerMigration("delta-v1") { db in
            // The base for delta-compressing the next tree with the same entry names (a hint).
            try db.execute(
                sql: """
                    CREATE TABLE delta_bases (
                        shape INTEGER PRIMARY KEY NOT NULL, tree BLOB NOT NULL, depth INTEGER NOT NULL
                    );
                    """)
        }
        m.registerMigration("tags-v1") { db in
            // Per-block integrity tags of stored chunks (BlockTagger): 16 bytes per 16 KiB block.
            try db.execute(
                sql: """
                    CREATE TABLE chunk_tags (id BLOB PRIMARY KEY NOT NULL, tags BLOB NOT NULL) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("keys-v1") { db in
            // Fingerprints of the keys this store was written with ("node": the endpoint id;
            // "tags": the tag key's), checked when the store is opened. Block tags became bound
            // to the block's index and the chunk's length and keyed by a store key: tags of the
            // old format never verify again, so they go (chunks are re-tagged when next read
            // whole and hashed to their id).
            try db.execute(
                sql: """
                    CREATE TABLE store_keys (name TEXT PRIMARY KEY NOT NULL, fingerprint BLOB NOT NULL) WITHOUT ROWID;
                    DELETE FROM chunk_tags;
                    """)
        }
        m.registerMigration("gc-v1") { db in
            // Pack ids are never reused: a running mount keeps descriptors by pack id, so an id
            // gc or eviction freed must not come back naming another file. AUTOINCREMENT needs
            // the table rebuilt (foreign keys are checked after the migration).
            try db.execute(
                sql: """
                    CREATE TABLE packs_new (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
                    INSERT INTO packs_new (id, name) SELECT id, name FROM packs;
                    DROP TABLE packs;
                    ALTER TABLE packs_new RENAME TO packs;
                    """)
        }
        m.registerMigration("git-ids-v1") { db in
            // The git id of ark objects (manifest -> blob, tree -> tree, commit -> commit), as
            // their git form hashes: derivable from the objects, so local and never synced; it
            // saves re-reading content to name a blob. git_objects maps the other way.
            try db.execute(
                sql: """
                    CREATE TABLE git_ids (ark_id BLOB PRIMARY KEY NOT NULL, git_id BLOB NOT NULL) WITHOUT ROWID;
                    CREATE INDEX git_ids_git ON git_ids(git_id);
                    """)
        }
        m.registerMigration("remote-v1") { db in try Self.migrateRemote(db) }
        m.registerMigration("remote-v2") { db in try Self.migrateStateHeadsOnly(db) }
        m.registerMigration("tags-v2") { db in
            // Objects of one block keep no tags (`BlockTagger.tagsKept`): a read hashes them
            // whole. The rows older stores kept for them go (a sixth of an index of small files).
            try db.execute(
                sql: "DELETE FROM chunk_tags WHERE id IN (SELECT id FROM objects WHERE raw_len <= ?)",
                arguments: [BlockTagger.blockSize])
        }
        m.registerMigration("stat-v2") { db in
            // The stat cache keeps a few rows per directory (`StatDirectory`), not one per file
            // keyed by its whole path: about 72 bytes a file instead of 149.
            try Self.migrateStatCacheToDirectories(db)
        }
        return m
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let e as DatabaseError { throw Self.wrap(e) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write { db in
                let result = try body(db)
                if let stateMirror { try Self.mirrorState(db, stateMirror) }
                return result
            }
        } catch let e as DatabaseError { throw Self.wrap(e) }
    }

    /// SQLite's errors as ArkErrors: a database another process holds locked past the busy
    /// timeout is `.busy` (try again), a full disk or a read-only file keeps its errno, the
    /// rest is `.io`.
    static func wrap(_ e: DatabaseError) -> ArkError {
        let message = "index: \(e.message ?? "SQLite error \(e.resultCode)")"
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return ArkError(.busy, message, context: e.sql)
        case .SQLITE_FULL: return ArkError(.io, message, context: e.sql, errno: Errno(rawValue: ENOSPC))
        case .SQLITE_READONLY, .SQLITE_PERM: return ArkError(.io, message, context: e.sql, errno: Errno(rawValue: EACCES))
        default: return ArkError(.io, message, context: e.sql)
        }
    }
}

extension Index {
    /// Opens up to `count` reader connections now (at most one per core: each holds a thread
    /// of the global queue until all have one) (each reading the objects and tags tables'
    /// top pages), so the first concurrent reads of a mount do not pay for opening SQLite
    /// connections. Connections stay in the pool for later reads.
    package func warmReaders(_ count: Int) {
        let count = min(count, ProcessInfo.processInfo.activeProcessorCount)
        let entered = DispatchGroup(), release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for _ in 0..<count {
            entered.enter(); done.enter()
            DispatchQueue.global().async { [pool] in
                _ = try? pool.read { db in
                    // The statement of `objectForRead`, compiled and cached on this connection.
                    _ = try Self.objectForRead(db, ObjectID(bytes: [UInt8](repeating: 0, count: ObjectID.byteCount)))
                    entered.leave()
                    // Hold this connection until every reader has one of its own.
                    _ = release.wait(timeout: .now() + 0.5)
                }
                done.leave()
            }
        }
        _ = entered.wait(timeout: .now() + 0.5)
        for _ in 0..<count { release.signal() }
        _ = done.wait(timeout: .now() + 1)
    }
}
