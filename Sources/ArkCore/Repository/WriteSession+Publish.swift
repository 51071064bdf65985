import Dispatch
import GRDB
import Synchronization

/// What one index transaction of a session records: synced records (with a bucket, the packs
/// they are in, which the bucket must confirm first) and the rows that point at them.
struct PublishBatch {
    var records: [PackWriter.Pending] = []
    var packs: [PackWriter.SyncedPack] = []
    var stats: [StatEntry] = []
    var prunes: [StatPrune] = []
    var kept: [ObjectID] = []
    var bases: [(shape: UInt64, id: ObjectID, depth: Int)] = []
    var tags: [(ObjectID, [UInt8])] = []

    /// Tree delta bases and block tags come only with records.
    var isEmpty: Bool { records.isEmpty && stats.isEmpty && prunes.isEmpty && kept.isEmpty }

    /// Adds a later batch (published together, in order).
    mutating func append(_ later: PublishBatch) {
        records += later.records; packs += later.packs; stats += later.stats; prunes += later.prunes
        kept += later.kept; bases += later.bases; tags += later.tags
    }

    func record(_ db: Database, remote: Bool) throws {
        try Index.insert(db, records: records, remote: remote)
        try Index.updateStatCache(db, stats)
        try Index.pruneStatCache(db, prunes)
        if try Index.hasCachedChunks(db) { try Index.keepChunks(db, kept) }
        try Index.setDeltaBases(db, bases)
        try Index.insertTags(db, tags)
    }
}

/// A batch's packs uploading to the bucket on `Repository.bucketPool` while its session writes
/// the next batch; `wait()` returns once the bucket confirmed them all, or the first error.
/// The job holds the session's store lock until it ends, so a session dropped meanwhile does not
/// wait for it (an async caller's thread would block) and gc still cannot run beside it.
final class BackgroundUpload: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let failure = Mutex<(any Error)?>(nil)

    init(_ repo: Repository, _ batch: PublishBatch, holding lock: StoreLock) {
        let packs = batch.packs, records = batch.records
        let job: @Sendable () -> Void = { [self] in
            withExtendedLifetime(lock) {
                do { try repo.upload(packs, records: records) } catch { failure.withLock { $0 = error } }
            }
            done.signal()
        }
        if let pool = repo.bucketPool { pool.submit(job) } else { job() }
    }

    func wait() throws {
        done.wait()
        done.signal()  // a second wait returns at once
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// Publishing: records become index rows only once durable (fsynced, and with a bucket
/// confirmed by it). A bucket upload of one batch overlaps the local work of the next.
extension WriteSession {
    /// The batch written since the last sync: moves the session's pending rows into it.
    private func takeBatch() throws -> PublishBatch {
        let (records, packs) = try writer.syncPacks()
        unsyncedBytes = 0
        let batch = PublishBatch(
            records: records, packs: packs, stats: statEntries, prunes: statPrunes, kept: keptChunks, bases: treeBases.unpublished,
            tags: pendingTags)
        statEntries.removeAll()
        statPrunes.removeAll()
        keptChunks.removeAll()
        pendingTags.removeAll()
        treeBases.published()
        return batch
    }

    /// Publishes what was written when enough has piled up (`checkpointDue`). With a bucket it
    /// starts uploading this batch and returns: the index records it at the next checkpoint or
    /// publish, after the bucket has confirmed it. Without one it is `checkpoint()`.
    func checkpointIfDue() throws {
        guard checkpointDue else { return }
        guard repo.packStorage != nil else { return try checkpoint() }
        var batch = try takeBatchAfterUpload()
        // A batch a failed publish left behind goes up again with this one (uploads and
        // records are idempotent), so nothing the session counts as stored goes unpublished.
        if !carried.isEmpty {
            carried.append(batch)
            batch = carried
            carried = PublishBatch()
        }
        guard !batch.isEmpty else { return }
        known.seal()
        uploading = (BackgroundUpload(repo, batch, holding: lock), batch)
    }

    /// `takeBatch()`, once the batch uploading before it is recorded (`finishUpload`); if that
    /// fails, this batch stays in the session (`carried`) behind it.
    private func takeBatchAfterUpload() throws -> PublishBatch {
        let batch = try takeBatch()
        do {
            try finishUpload()
        } catch {
            carried.append(batch)
            throw error
        }
        return batch
    }

    /// Waits for the batch uploading in the background and records it in the index.
    private func finishUpload() throws {
        guard let (upload, batch) = uploading else { return }
        uploading = nil
        do {
            try upload.wait()
            try repo.index.write { db in try batch.record(db, remote: true) }
        } catch {
            carried.append(batch)
            throw error
        }
        // Its ids are in the index now, where `isKnown` finds them.
        known.dropSealed()
        repo.cacheUploaded(batch.packs)
    }

    /// fsyncs what was written and publishes it to the index as present objects (with a
    /// bucket, once the bucket has confirmed the packs).
    package func checkpoint() throws {
        try publish(skipIfEmpty: true) { _ in }
    }

    /// fsyncs everything written so far, then publishes it in one index transaction that also
    /// runs `body`, so rows written by `body` may point at those objects (metadata implies data).
    func publish(_ body: (Database) throws -> Void) throws {
        try publish(skipIfEmpty: false, body)
    }

    private func publish(skipIfEmpty: Bool, _ body: (Database) throws -> Void) throws {
        let batch = try takeBatchAfterUpload()
        // Kept in `carried` until an index transaction has recorded it: after a failed upload
        // or index write, the next publish of this session uploads and records it again.
        carried.append(batch)
        if skipIfEmpty && carried.isEmpty { return }
        let all = carried
        try repo.upload(all.packs, records: all.records)
        try repo.index.write { db in
            try all.record(db, remote: repo.packStorage != nil)
            try body(db)
        }
        carried = PublishBatch()
        // Everything known so far is in the index now, where `isKnown` finds it.
        known.removeAll()
        repo.cacheUploaded(all.packs)
    }
}
