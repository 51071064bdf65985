import Dispatch
import Synchronization

extension WriteSession {
    /// Read buffers (about 8 MiB each) between reading and writing at once; bounds memory.
    static let batchesInFlight = 6

    /// Stores a file's chunks and manifest (two-level when it has many chunks). The calling
    /// thread reads and chunks; each batch's chunks are hashed and compressed on all cores;
    /// a serial queue writes finished batches in order straight from the read buffers. The
    /// three stages overlap, with at most `batchesInFlight` batches between them.
    func putFile(_ stream: FileChunkStream, progress: (UInt64) -> Void) throws -> (manifest: ObjectID, size: UInt64) {
        var stream = stream
        let pipeline = WritePipeline(session: self, slots: Self.batchesInFlight)
        var reported: UInt64 = 0
        func report() {
            let done = pipeline.doneBytes
            if done > reported { progress(done - reported); reported = done }
        }
        do {
            // A file that fits one buffer (most files) is done on this thread: handing it
            // between threads would cost more than it overlaps.
            if let first = try stream.nextBatch() {
                if stream.isAtEnd { try pipeline.runInline(first) } else { pipeline.submit(first) }
                report()
            }
            while pipeline.error == nil, let batch = try stream.nextBatch() {
                pipeline.submit(batch)
                report()
            }
        } catch {
            pipeline.finish()
            throw error
        }
        pipeline.finish()
        if let e = pipeline.error { throw e }
        report()
        return (try putManifest(pipeline.entries), reported)
    }
}

/// The hash/compress and write stages of `WriteSession.putFile`.
final class WritePipeline: @unchecked Sendable {  // `session` and `entries` are used only on `writeQueue` until `finish()` has drained it
    private let session: WriteSession
    private let known: KnownIDs
    private let compressors: CompressorPool
    private let writeQueue = DispatchQueue(label: "ark.write-pipeline")
    private let slots: DispatchSemaphore
    private let state = Mutex<(error: (any Error)?, doneBytes: UInt64)>((nil, 0))
    /// Manifest entries in file order; read after `finish()`.
    private(set) var entries: [Manifest.Entry] = []

    init(session: WriteSession, slots: Int) {
        self.session = session
        self.known = session.known
        self.compressors = session.compressors
        self.slots = DispatchSemaphore(value: slots)
    }

    var error: (any Error)? { state.withLock { $0.error } }
    var doneBytes: UInt64 { state.withLock { $0.doneBytes } }

    /// Queues a batch (waiting while `slots` batches are in flight).
    func submit(_ batch: ChunkBatch) {
        slots.wait()
        let n = batch.chunks.count
        let results = BatchResults(count: n)
        let group = DispatchGroup()
        let known = self.known, compressors = self.compressors, tagger = session.tagger
        for i in 0..<n {
            DispatchQueue.global().async(group: group) {
                let h = HashedChunk(batch.bytes(i), known: known, compressors: compressors, tagger: tagger)
                results.slots.withLock { $0[i] = h }
            }
        }
        writeQueue.async {
            group.wait()
            defer { self.slots.signal() }
            guard self.error == nil else { return }
            do {
                try self.write(batch, results.slots.withLock { $0 })
                self.state.withLock { $0.doneBytes += UInt64(batch.byteCount) }
            } catch {
                self.state.withLock { $0.error = error }
            }
        }
    }

    /// Hashes, compresses and writes one batch on the calling thread (nothing else queued).
    func runInline(_ batch: ChunkBatch) throws {
        let results = BatchResults(count: batch.chunks.count)
        let known = self.known, compressors = self.compressors, tagger = session.tagger
        let one: @Sendable (Int) -> Void = { i in
            let h = HashedChunk(batch.bytes(i), known: known, compressors: compressors, tagger: tagger)
            results.slots.withLock { $0[i] = h }
        }
        if batch.chunks.count == 1 { one(0) } else { DispatchQueue.concurrentPerform(iterations: batch.chunks.count, execute: one) }
        try write(batch, results.slots.withLock { $0 })
        state.withLock { $0.doneBytes += UInt64(batch.byteCount) }
    }

    /// Waits until every queued batch is written (or skipped after an error).
    func finish() { writeQueue.sync {} }

    private func write(_ batch: ChunkBatch, _ results: [HashedChunk?]) throws {
        var records: [PackWriter.Record] = []
        var queued = Set<ObjectID>()
        for (i, r) in results.enumerated() {
            let id = r!.id
            let bytes = batch.bytes(i)
            entries.append(Manifest.Entry(id: id, length: UInt64(bytes.count)))
            if queued.contains(id) { continue }
            if try session.isKnown(id) { continue }
            queued.insert(id)
            records.append(PackWriter.Record(id: id, kind: .chunk, raw: bytes, compressed: r!.compressed, tags: r!.tags))
        }
        try session.appendChunks(records)
    }
}

/// A chunk's id and, unless it is already stored, its compressed form (if smaller) and block
/// tags, computed on a worker thread from the same bytes.
struct HashedChunk: Sendable {
    var id: ObjectID
    var compressed: [UInt8]?
    var tags: [UInt8]?

    init(_ bytes: UnsafeRawBufferPointer, known: KnownIDs, compressors: CompressorPool, tagger: BlockTagger) {
        id = ObjectHasher.hash(.chunk, bytes)
        guard !known.contains(id) else { return }
        compressed = compressors.with { $0.compressIfSmaller(bytes) }
        tags = BlockTagger.tagsKept(length: bytes.count) ? tagger.tags(for: id, bytes) : nil
    }
}

/// Hash and compression results of one batch, filled in by the workers.
final class BatchResults: Sendable {
    let slots: Mutex<[HashedChunk?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
}

/// A set of object ids shared between a session and its worker threads.
final class KnownIDs: Sendable {
    /// The ids written or found since the last publish; those set aside while their packs
    /// upload (`seal`); and how many times ids were forgotten (`generation`).
    private let state = Mutex((ids: Set<ObjectID>(), sealed: Set<ObjectID>(), generation: UInt64(0)))

    func contains(_ id: ObjectID) -> Bool { state.withLock { $0.ids.contains(id) || $0.sealed.contains(id) } }

    func insert(_ id: ObjectID) { _ = state.withLock { $0.ids.insert(id) } }

    /// Counts the calls that forgot ids: an index answer taken before the last one may be
    /// older than what the session has published since.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Sets the ids known so far aside: their batch is uploading and not published yet, so
    /// they stay known until `dropSealed` (after the index has recorded them).
    func seal() {
        state.withLock {
            if $0.sealed.isEmpty { swap(&$0.ids, &$0.sealed) } else { $0.sealed.formUnion($0.ids); $0.ids.removeAll() }
        }
    }

    /// Forgets the sealed ids (their batch is published; the index answers for them now).
    func dropSealed() {
        state.withLock {
            $0.sealed.removeAll(); $0.generation += 1
        }
    }

    /// Forgets every id (they are published; the index answers for them from now on).
    func removeAll() {
        state.withLock {
            $0.ids.removeAll(); $0.sealed.removeAll(); $0.generation += 1
        }
    }
}
