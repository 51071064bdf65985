import Foundation
import GRDB

/// Storing objects fetched from peers: each is hashed and compared with the id it was
/// requested as, and history is published only once its metadata closure is durable.
extension WriteSession {
    /// Stores `bytes` as an object of `kind` only if they hash to `id`; returns false (storing
    /// nothing) when they do not.
    package func putVerified(_ id: ObjectID, _ kind: ObjectKind, _ bytes: [UInt8]) throws -> Bool {
        guard ObjectHasher.hash(kind, bytes) == id else { return false }
        try store(id, kind, bytes)
        return true
    }

    /// Stores objects a peer sent that the caller has already hashed and found equal to their
    /// ids (`SyncEngine.fetchObjects` checks every object it returns), so each byte is hashed
    /// once on its way in.
    package func putChecked(_ objects: some Sequence<(key: ObjectID, value: [UInt8])>, kind: ObjectKind) throws {
        for (id, bytes) in objects { try store(id, kind, bytes) }
    }

    /// Stores a chunk fetched on demand as an evictable cache entry (`[store] cache_limit`), if
    /// it hashes to `id`; durable before the index records it, like every other object. With a
    /// bucket it stays local (a pack of its own, `remote = 0`, never uploaded): it is a cache of
    /// a peer's data, as in a store without a bucket.
    package func putCachedChunk(_ id: ObjectID, _ bytes: [UInt8]) throws -> Bool {
        if repo.packStorage != nil { return try putLocalCachedChunk(id, bytes) }
        keepsCachedChunks = false
        defer { keepsCachedChunks = true }
        guard try putVerified(id, .chunk, bytes) else { return false }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try publish { db in
            // Only when the index row is this session's copy: a chunk that was already here, or
            // that another writer (a commit) published first, stays as it was.
            if newObjects > 0, let pack = try Index.object(db, id)?.location?.pack,
                try String.fetchOne(db, sql: "SELECT name FROM packs WHERE id = ?", arguments: [pack]) == writer.packName
            {
                try Index.insertCached(db, id, bytes: bytes.count, time: now)
            }
        }
        return true
    }

    private func putLocalCachedChunk(_ id: ObjectID, _ bytes: [UInt8]) throws -> Bool {
        guard ObjectHasher.hash(.chunk, bytes) == id else { return false }
        if try repo.index.object(id)?.isPresent == true { return true }
        let local = PackWriter(directory: repo.packDirectory, sealsOnSync: true)
        let compressed = compressors.with { c in bytes.withUnsafeBytes { c.compressIfSmaller($0) } }
        try bytes.withUnsafeBytes { try local.append(id: id, kind: .chunk, raw: $0, compressed: compressed) }
        let (records, _) = try local.syncPacks()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try repo.index.write { db in
            // Another writer stored it meanwhile: that copy stays (gc removes the unused pack).
            guard try Index.object(db, id)?.isPresent != true else { return }
            try Index.insert(db, records: records, remote: false)
            try Index.insertCached(db, id, bytes: bytes.count, time: now)
        }
        return true
    }

    /// fsyncs everything written, then in one index transaction records `commits` (parents
    /// before children; their trees, manifests and parents must already be stored), the
    /// chunks known but not stored, and optionally moves `head` to `target`. With
    /// `announcedSeq`, the head moves only if no announcement of it above that sequence number
    /// was accepted meanwhile (pulls run concurrently and may finish out of order).
    package func publishFetched(
        commits: [(ObjectID, Commit)], absentChunks: [(id: ObjectID, kind: ObjectKind, rawLength: Int)],
        head: HeadRef?, target: ObjectID?, announcedSeq: UInt64? = nil, cause: String
    ) throws {
        try publishFetched(
            commits: commits, head: head, target: target, announcedSeq: announcedSeq, cause: cause,
            absent: { db in try Index.insertAbsent(db, absentChunks) })
    }

    /// As `publishFetched(commits:absentChunks:...)`, with the known-but-absent chunks in an
    /// `ObjectIDSet` (value: raw length), recorded a page at a time in the same transaction, so
    /// a commit of any number of files publishes in bounded memory.
    package func publishFetched(
        commits: [(ObjectID, Commit)], absentChunks: ObjectIDSet,
        head: HeadRef?, target: ObjectID?, announcedSeq: UInt64? = nil, cause: String
    ) throws {
        try publishFetched(
            commits: commits, head: head, target: target, announcedSeq: announcedSeq, cause: cause,
            absent: { db in
                try absentChunks.forEachPage(size: 8192) { page in
                    try Index.insertAbsent(db, page.map { (id: $0.id, kind: ObjectKind.chunk, rawLength: Int($0.value)) })
                }
            })
    }

    private func publishFetched(
        commits: [(ObjectID, Commit)], head: HeadRef?, target: ObjectID?, announcedSeq: UInt64?, cause: String,
        absent: (Database) throws -> Void
    ) throws {
        let actor = repo.identity.endpointID
        try publish { db in
            try absent(db)
            for (id, c) in commits { try Index.insertCommit(db, id: id, c) }
            if let head, let target, try !Index.seenAbove(db, head, seq: announcedSeq) {
                let current = try Index.head(db, head)
                try Index.setHead(
                    db, head, to: target, expected: current, actor: actor, cause: cause, time: Int64(Date().timeIntervalSince1970))
            }
        }
    }
}
