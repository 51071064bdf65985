import Foundation
import GRDB
import Glibc

package struct CacheEviction: Sendable, Equatable {
    package var chunks = 0
    package var bytes: Int64 = 0
}

extension Repository {
    /// Evicts least recently used cached chunks until the cache holds at most `target` bytes
    /// (call it when it holds more than the limit; a target below the limit leaves headroom so
    /// eviction does not run on every fetch). An evicted chunk becomes known-but-absent again:
    /// the index marks it absent first, then its pack file is deleted. Only chunks in the cache
    /// table are touched: never metadata, never a chunk an own commit or a `full` repo needs.
    /// Holds the store lock shared, so `gc` (exclusive) never sees a pack vanish under it.
    @discardableResult
    package func evictCache(downTo target: Int64) throws -> CacheEviction {
        let lock = try StoreLock(store: path, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        var result = CacheEviction()
        var deadPacks: [(Int64, String)] = []
        try index.write { db in
            var total = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(bytes), 0) FROM chunk_cache") ?? 0
            guard total > target else { return }
            let rows = try Row.fetchCursor(db, sql: "SELECT id, bytes FROM chunk_cache ORDER BY last_used, id")
            var victims: [(ObjectID, Int64)] = []
            while total > target, let row = try rows.next() {
                let id: ObjectID = row[0], bytes: Int64 = row[1]
                victims.append((id, bytes))
                total -= bytes
            }
            var packs = Set<Int64>()
            for (id, bytes) in victims {
                if let pack = try Int64.fetchOne(
                    db, sql: "SELECT pack FROM objects WHERE id = ? AND kind = ?",
                    arguments: [id, Int64(ObjectKind.chunk.rawValue)])
                {
                    packs.insert(pack)
                }
                try db.execute(
                    sql: """
                        UPDATE objects SET pack = NULL, offset = NULL, stored_len = NULL
                        WHERE id = ? AND kind = ?
                        """, arguments: [id, Int64(ObjectKind.chunk.rawValue)])
                try db.execute(sql: "DELETE FROM chunk_cache WHERE id = ?", arguments: [id])
                result.chunks += 1
                result.bytes += bytes
            }
            // A fetched chunk has a pack of its own; a pack that still holds anything stays.
            for pack in packs
            where try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM objects WHERE pack = ?)", arguments: [pack]) == false {
                if let name = try String.fetchOne(db, sql: "SELECT name FROM packs WHERE id = ?", arguments: [pack]) {
                    deadPacks.append((pack, name))
                }
                try db.execute(sql: "DELETE FROM packs WHERE id = ?", arguments: [pack])
            }
        }
        for (pack, name) in deadPacks {
            unlink(packDirectory + "/" + name)
            packs.drop(pack)
            directReads.drop(pack)
        }
        if !deadPacks.isEmpty { try FileDescriptor.syncDirectory(packDirectory) }
        return result
    }
}
