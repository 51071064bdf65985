import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// A set of object ids, each with an optional 64-bit value, for walks over whole trees and
/// histories (gc's mark, verify, `status`, sync's reach). Ids are kept in memory up to
/// `memoryLimit`; beyond it they move to a private temporary SQLite database (an unnamed file
/// SQLite unlinks as it opens it, under `SQLITE_TMPDIR`, `TMPDIR` or `/var/tmp`, so a kill
/// leaves nothing behind) with a bounded page cache. Memory then stays flat however many
/// files a commit holds, at the cost of a B-tree lookup per id.
///
/// Not thread-safe: one walk owns it. Wrap it in a lock to share it.
package final class ObjectIDSet {
    /// About 14 MB of ids in memory before spilling (a Swift dictionary entry of an id and a
    /// value is ~53 bytes at its load factor); `ARK_ID_SET_MEMORY` (a number of ids) sets
    /// another, e.g. a tiny one to run the spilled path on a small store.
    package static let defaultMemoryLimit: Int = {
        if let s = getenv("ARK_ID_SET_MEMORY"), let n = Int(String(cString: s)), n > 0 { return n }
        return 262_144
    }()

    private var memory: [ObjectID: Int64] = [:]
    private var spill: DatabaseQueue?
    private let memoryLimit: Int
    package private(set) var count = 0

    package init(memoryLimit: Int = ObjectIDSet.defaultMemoryLimit) {
        self.memoryLimit = max(memoryLimit, 1)
    }

    /// Whether the ids have moved to the temporary database.
    package var isSpilled: Bool { spill != nil }

    /// Inserts `id` (with `value` if it is new); true if it was not there.
    @discardableResult
    package func insert(_ id: ObjectID, value: Int64 = 0) throws -> Bool {
        try insertNew([id], value: { _ in value }).count == 1
    }

    /// Inserts every id of `ids`; returns those that were not there yet, in order, each once.
    @discardableResult
    package func insertNew(_ ids: some Collection<ObjectID>, value: (ObjectID) -> Int64 = { _ in 0 }) throws -> [ObjectID] {
        if let db = spill { return try Self.insert(ids, value: value, into: db, count: &count) }
        var fresh: [ObjectID] = []
        for id in ids where memory[id] == nil {
            memory[id] = value(id)
            fresh.append(id)
        }
        count = memory.count
        if memory.count > memoryLimit { try moveToDisk() }
        return fresh
    }

    package func contains(_ id: ObjectID) throws -> Bool { try value(of: id) != nil }

    /// The value stored with `id`, or nil if it is not in the set.
    package func value(of id: ObjectID) throws -> Int64? {
        guard let db = spill else { return memory[id] }
        return try Self.run("read") {
            try db.read { db in
                try Int64.fetchOne(db.cachedStatement(sql: "SELECT v FROM ids WHERE id = ?"), arguments: [id])
            }
        }
    }

    /// The ids of `ids` that are in the set, in order.
    package func filterContained(_ ids: some Collection<ObjectID>) throws -> [ObjectID] {
        guard let db = spill else { return ids.filter { memory[$0] != nil } }
        return try Self.run("read") {
            try db.read { db in
                let stmt = try db.cachedStatement(sql: "SELECT 1 FROM ids WHERE id = ?")
                return try ids.filter { try Int.fetchOne(stmt, arguments: [$0]) != nil }
            }
        }
    }

    /// Where a walk over the set's ids stands (`nextPage`).
    package struct Cursor: Sendable {
        fileprivate var memoryIndex: [ObjectID: Int64].Index?
        fileprivate var lastID: ObjectID?
        package init() {}
    }

    /// Up to `limit` ids (with their values) after `cursor`, which moves past them; empty once
    /// every id was returned. Ids come in no particular order, each once, as long as nothing
    /// is inserted during the walk.
    package func nextPage(_ cursor: inout Cursor, limit: Int) throws -> [(id: ObjectID, value: Int64)] {
        guard let db = spill else {
            var i = cursor.memoryIndex ?? memory.startIndex
            var page: [(id: ObjectID, value: Int64)] = []
            while i < memory.endIndex && page.count < limit {
                page.append((memory[i].key, memory[i].value))
                i = memory.index(after: i)
            }
            cursor.memoryIndex = i
            return page
        }
        let after = cursor.lastID
        let page = try Self.run("read") {
            try db.read { db in
                let rows =
                    if let after {
                        try Row.fetchAll(
                            db.cachedStatement(sql: "SELECT id, v FROM ids WHERE id > ? ORDER BY id LIMIT ?"), arguments: [after, limit])
                    } else {
                        try Row.fetchAll(db.cachedStatement(sql: "SELECT id, v FROM ids ORDER BY id LIMIT ?"), arguments: [limit])
                    }
                return rows.map { (id: $0[0] as ObjectID, value: $0[1] as Int64) }
            }
        }
        if let last = page.last { cursor.lastID = last.id }
        return page
    }

    /// Calls `body` with every id and value of the set, `pageSize` at a time.
    package func forEachPage(size pageSize: Int, _ body: ([(id: ObjectID, value: Int64)]) throws -> Void) throws {
        var cursor = Cursor()
        while true {
            let page = try nextPage(&cursor, limit: pageSize)
            if page.isEmpty { return }
            try body(page)
        }
    }

    private func moveToDisk() throws {
        var config = Configuration()
        config.journalMode = .default
        config.prepareDatabase { db in
            // A scratch file: nothing to recover after a crash, so no journal and no syncs.
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -8192")
        }
        let db = try Self.run("create") {
            let q = try DatabaseQueue(path: "", configuration: config)
            try q.write { try $0.execute(sql: "CREATE TABLE ids (id BLOB PRIMARY KEY NOT NULL, v INTEGER NOT NULL) WITHOUT ROWID") }
            return q
        }
        var n = 0
        let sorted = memory.sorted { $0.key < $1.key }  // B-tree appends, not random inserts
        for start in stride(from: 0, to: sorted.count, by: 65_536) {
            let part = sorted[start..<min(start + 65_536, sorted.count)]
            let values = Dictionary(uniqueKeysWithValues: part.map { ($0.key, $0.value) })
            _ = try Self.insert(part.map(\.key), value: { values[$0]! }, into: db, count: &n)
        }
        memory = [:]
        spill = db
        count = n
    }

    private static func insert(
        _ ids: some Collection<ObjectID>, value: (ObjectID) -> Int64, into db: DatabaseQueue, count: inout Int
    ) throws -> [ObjectID] {
        guard !ids.isEmpty else { return [] }
        let fresh = try run("write") {
            try db.write { db in
                let stmt = try db.cachedStatement(sql: "INSERT OR IGNORE INTO ids (id, v) VALUES (?, ?)")
                var fresh: [ObjectID] = []
                for id in ids {
                    try stmt.execute(arguments: [id, value(id)])
                    if db.changesCount > 0 { fresh.append(id) }
                }
                return fresh
            }
        }
        count += fresh.count
        return fresh
    }

    private static func run<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as DatabaseError {
            throw ArkError(.io, "temporary id set: cannot \(what): \(e.message ?? "\(e.resultCode)")")
        }
    }
}
