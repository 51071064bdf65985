import Dispatch
import Foundation
import GRDB
import Synchronization

/// One writer's session on a store: appends new objects to its own pack file, skips objects
/// already stored, hashes and compresses chunks on all cores, and publishes to the index only
/// what has been fsynced (metadata implies data). Holds the store lock shared until closed.
/// Files go through a pipeline (WriteSession+Pipeline.swift): reading and chunking, hashing
/// and compressing, and writing overlap.
package final class WriteSession {
    package let repo: Repository
    let lock: StoreLock
    let writer: PackWriter
    /// Ids stored here or written by this session; shared with the pipeline's hash workers
    /// (one set, not a copy per file).
    let known = KnownIDs()
    let compressors = CompressorPool()
    var unsyncedBytes: UInt64 = 0
    var statEntries: [StatEntry] = []
    var statPrunes: [StatPrune] = []
    /// Bytes of new (not deduplicated) stored data this session wrote.
    package private(set) var newBytesStored: UInt64 = 0
    package private(set) var newObjects = 0
    /// Publish durable objects to the index after this many written bytes, so an interrupted
    /// large commit keeps its progress.
    package var checkpointBytes: UInt64 = 256 << 20
    /// Publish after this many new objects or stat cache rows as well, so what waits for the
    /// index (rows, tags, stat data, known ids) stays bounded when a commit stores many small
    /// files.
    package var checkpointObjects = 32_768
    /// Chunks this session's manifests use: taken out of the evictable cache when the session
    /// publishes, if the cache holds any then (they are needed for good). A chunk another
    /// writer's fetch stored first may be one. Chunks it deduplicated against were taken out
    /// already (`isKnown`).
    var keptChunks: [ObjectID] = []
    /// False for a session storing a chunk fetched on demand (`putCachedChunk`): finding it
    /// already stored, and cached, leaves it evictable.
    var keepsCachedChunks = true
    /// Block tags of chunks written since the last publish (published with them).
    var pendingTags: [(ObjectID, [UInt8])] = []
    let tagger: BlockTagger
    lazy var treeBases = TreeDeltaBases(repo: repo)
    /// Synced batches no index transaction has recorded yet (a publish failed): the next
    /// publish uploads and records them again.
    var carried = PublishBatch()
    /// The batch uploading to the bucket while the session writes on (`checkpointIfDue`).
    var uploading: (BackgroundUpload, PublishBatch)?

    package init(_ repo: Repository, onWait: () -> Void = {}) throws {
        self.repo = repo
        self.lock = try StoreLock(store: repo.path, mode: .shared, onWait: onWait)
        self.writer = PackWriter(directory: repo.packDirectory, sealsOnSync: repo.packStorage != nil, targetSize: repo.packTargetSize)
        self.tagger = repo.blockTagger
        // Packs in a bucket: smaller ones, so the local copy of a pack being written stays well
        // below the cache and uploads start sooner.
        if repo.packStorage != nil { checkpointBytes = 64 << 20 }
    }

    /// Stores a metadata object (tree, manifest, commit) unless already stored; returns its id.
    @discardableResult
    package func put(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> ObjectID {
        let id = ObjectHasher.hash(kind, bytes)
        try store(id, kind, bytes)
        return id
    }

    /// Stores `bytes` as object `id` unless already stored. The caller has hashed them and
    /// found `id` (put, putVerified, or a fetch that checked what a peer sent).
    func store(_ id: ObjectID, _ kind: ObjectKind, _ bytes: [UInt8]) throws {
        if try isKnown(id) { return }
        if kind == .manifest && bytes.count > BlockTagger.blockSize {
            // Large manifests stay raw and get block tags, so a mount reads just the records
            // it needs first (`Repository.manifestPrefix`); they are mostly hashes and barely
            // compress.
            try append(id, kind, bytes, nil)
            return
        }
        let compressed = compressors.with { c in bytes.withUnsafeBytes { c.compressIfSmaller($0) } }
        if kind == .tree, let shape = TreeDeltaBases.shape(of: bytes) {
            try putTree(id, bytes, compressed, shape: shape)
        } else {
            try append(id, kind, bytes, compressed)
        }
    }

    /// Stores a tree as a delta against the last tree with the same entry names when that is
    /// smaller than compressing it alone.
    private func putTree(_ id: ObjectID, _ bytes: [UInt8], _ compressed: [UInt8]?, shape: UInt64) throws {
        var depth = 0
        if let base = treeBases.base(for: shape), base.depth < TreeDeltaBases.maxDepth {
            let alone = compressed?.count ?? bytes.count
            let frame = compressors.with { c in
                bytes.withUnsafeBytes { b in
                    base.bytes.withUnsafeBytes { c.compress(b, dictionary: $0, smallerThan: alone - ObjectID.byteCount) }
                }
            }
            if let frame {
                var stored = [UInt8]()
                stored.reserveCapacity(ObjectID.byteCount + frame.count)
                base.id.withBytes { stored.append(contentsOf: $0) }
                stored += frame
                try append(id, .tree, bytes, stored, delta: true)
                depth = base.depth + 1
                treeBases.record(shape, .init(id: id, bytes: bytes, depth: depth))
                return
            }
        }
        try append(id, .tree, bytes, compressed)
        treeBases.record(shape, .init(id: id, bytes: bytes, depth: depth))
    }

    /// Whether `id` is stored (here or by this session), so it need not be written again. A
    /// stored chunk in the evictable cache leaves it now: eviction runs beside writers and must
    /// not drop a chunk this session's manifests will name.
    func isKnown(_ id: ObjectID) throws -> Bool {
        if known.contains(id) { return true }
        let present = keepsCachedChunks ? try repo.index.isPresentAndKept(id) : try repo.index.object(id)?.isPresent == true
        if present { known.insert(id); return true }
        return false
    }

    /// Appends a manifest a reader thread built and compressed (`putPrepared`).
    func appendManifest(_ id: ObjectID, _ bytes: [UInt8], _ compressed: [UInt8]?) throws {
        try append(id, .manifest, bytes, bytes.count > BlockTagger.blockSize ? nil : compressed)
    }

    private func append(_ id: ObjectID, _ kind: ObjectKind, _ raw: [UInt8], _ compressed: [UInt8]?, delta: Bool = false) throws {
        try raw.withUnsafeBytes { try writer.append(id: id, kind: kind, raw: $0, compressed: compressed, delta: delta) }
        if BlockTagger.tagsKept(length: raw.count) && (kind == .chunk || (kind == .manifest && compressed == nil)) {
            pendingTags.append((id, tagger.tags(for: id, raw)))
        }
        known.insert(id)
        let n = UInt64(compressed?.count ?? raw.count)
        newBytesStored += n; unsyncedBytes += n; newObjects += 1
        try checkpointIfDue()
    }

    /// Appends new chunks (already hashed, deduplicated and maybe compressed) in order with
    /// one batched write, then checkpoints when enough bytes are unsynced.
    func appendChunks(_ records: [PackWriter.Record]) throws {
        guard !records.isEmpty else { return }
        try writer.append(records: records)
        for r in records {
            if let t = r.tags { pendingTags.append((r.id, t)) }
            known.insert(r.id)
            let n = UInt64(r.compressed?.count ?? r.raw.count)
            newBytesStored += n; unsyncedBytes += n; newObjects += 1
        }
        try checkpointIfDue()
    }

    /// Hashes and compresses chunks in parallel, then appends the new ones in order.
    func putChunks(_ chunks: [[UInt8]]) throws -> [Manifest.Entry] {
        let results = Mutex<[HashedChunk?]>(Array(repeating: nil, count: chunks.count))
        let known = self.known, compressors = self.compressors, tagger = self.tagger
        DispatchQueue.concurrentPerform(iterations: chunks.count) { i in
            let h = chunks[i].withUnsafeBytes { HashedChunk($0, known: known, compressors: compressors, tagger: tagger) }
            results.withLock { $0[i] = h }
        }
        let done = results.withLock { $0 }
        var entries: [Manifest.Entry] = []
        entries.reserveCapacity(chunks.count)
        for (i, r) in done.enumerated() {
            let id = r!.id
            if try !isKnown(id) {
                try chunks[i].withUnsafeBytes {
                    try appendChunks([PackWriter.Record(id: id, kind: .chunk, raw: $0, compressed: r!.compressed, tags: r!.tags)])
                }
            }
            entries.append(Manifest.Entry(id: id, length: UInt64(chunks[i].count)))
        }
        return entries
    }

    /// Stores a file's chunks and manifest (two-level when it has many chunks).
    package func putFile(fd: Int32, path: String, progress: (UInt64) -> Void = { _ in }) throws -> (manifest: ObjectID, size: UInt64) {
        try putFile(FileChunkStream(fd: fd, path: path, chunker: Chunker()), progress: progress)
    }

    /// Stores a file read from any byte source (e.g. a pipe from another process).
    package func putFile(
        source: @escaping FileChunkStream.Source, name: String, size: Int? = nil,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> (manifest: ObjectID, size: UInt64) {
        try putFile(FileChunkStream(path: name, chunker: Chunker(), sizeHint: size, source: source), progress: progress)
    }

    /// Builds a manifest for the chunk list, adding intermediate levels above
    /// `ObjectLimits.maxManifestEntries` entries.
    package func putManifest(_ entries: [Manifest.Entry], level: UInt8 = 0) throws -> ObjectID {
        let maxN = ObjectLimits.maxManifestEntries
        if level == 0 { keptChunks += entries.map(\.id) }
        if entries.count <= maxN {
            let id = try put(.manifest, Manifest(level: level, entries: entries).bytes)
            try checkpointIfDue()
            return id
        }
        guard level < Manifest.maxLevel else { throw ArkError(.unsupported, "file too large for a manifest") }
        var children: [Manifest.Entry] = []
        for start in stride(from: 0, to: entries.count, by: maxN) {
            let part = Array(entries[start..<min(start + maxN, entries.count)])
            let child = Manifest(level: level, entries: part)
            children.append(Manifest.Entry(id: try put(.manifest, child.bytes), length: child.totalSize))
        }
        return try putManifest(children, level: level + 1)
    }

    func rememberStat(path: [UInt8], key: StatKey, manifest: ObjectID) throws {
        statEntries.append(StatEntry(path: path, key: key, manifest: manifest))
        try checkpointIfDue()
    }

    /// Drops the stat cache entries of `directory` for files not in `keep` (its regular
    /// files now), with the next batch.
    func pruneStat(directory: [UInt8], keep: Set<[UInt8]>) throws {
        statPrunes.append(StatPrune(directory: directory, keep: keep))
        try checkpointIfDue()
    }

    var checkpointDue: Bool {
        unsyncedBytes >= checkpointBytes || writer.pendingCount >= checkpointObjects
            || statEntries.count + statPrunes.count >= checkpointObjects || keptChunks.count >= checkpointObjects
    }

    /// Stores a commit object and, in one index transaction after everything is durable,
    /// records it and moves `head` from `expected` to it.
    package func commit(_ commit: Commit, head: HeadRef?, expected: ObjectID?, cause: String) throws -> ObjectID {
        let bytes = commit.encoded()
        // The encoder writes whatever it is given; store only what decodes again.
        do { _ = try Commit(decoding: bytes) } catch let e as ArkError {
            throw ArkError(.invalidArgument, "refusing to store a commit that would not decode: \(e.message)")
        }
        let id = try put(.commit, bytes)
        let actor = repo.identity.endpointID
        try publish { db in
            try Index.insertCommit(db, id: id, commit)
            if let head {
                try Index.setHead(
                    db, head, to: id, expected: expected, actor: actor, cause: cause, time: Int64(Date().timeIntervalSince1970))
            }
        }
        return id
    }
}
