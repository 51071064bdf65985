import GRDB
import Glibc

/// A small file read, chunked, hashed and compressed on a reader thread ahead of the walk,
/// with its manifest built and the index asked which of its objects it already stores. The
/// walk's thread only appends what is new (`WriteSession.putPrepared`), so many files are read
/// and hashed at once while one thread writes packs and index rows.
struct PreparedFile: Sendable {
    /// The read buffer the chunks are in (nil for an empty file); kept until they are written.
    let batch: ChunkBatch?
    let chunks: [HashedChunk]
    let manifest: ObjectID
    let manifestBytes: [UInt8]
    let manifestCompressed: [UInt8]?
    let size: UInt64
    /// Per chunk, then the manifest: what the index said when the reader asked.
    var presence: [Presence]
    /// `KnownIDs.generation` before the index was asked: a publish since then may have put
    /// into the index what this session's `known` set no longer holds.
    var generation: UInt64

    enum Presence: Sendable { case absent, present, ask }
}

/// What a reader thread made of one file.
enum PreparedOutcome: Sendable {
    case ready(PreparedFile)
    /// Left out of the snapshot, with the reason (as `Snapshot.skipped` lists it).
    case skipped(String)
    /// Not done ahead (grew past one read buffer since the directory was read): the walk's
    /// thread stores it the ordinary way.
    case fallback
    case failed(any Error)
}

/// The parts of a session the reader threads use: all of them thread-safe.
struct FilePreparer: Sendable {
    let known: KnownIDs
    let compressors: CompressorPool
    let tagger: BlockTagger
    let index: Index
    /// Files up to this size are prepared ahead; larger ones go through `putFile`.
    static let maxSize = 1 << 20

    /// Prepares consecutive files of one directory, asking the index about all their objects
    /// in one read transaction.
    func prepare(_ paths: [[UInt8]]) -> [PreparedOutcome] {
        var out = paths.map(prepareOne)
        let generation = known.generation
        var ids: [ObjectID] = []
        for case .ready(let p) in out { ids += p.chunks.map(\.id); ids.append(p.manifest) }
        let answers: [PreparedFile.Presence]
        do {
            answers = try index.presence(ids)
        } catch {
            return out.map { if case .ready = $0 { .failed(error) } else { $0 } }
        }
        var k = 0
        for i in out.indices {
            guard case .ready(var p) = out[i] else { continue }
            let n = p.chunks.count + 1
            p.presence = Array(answers[k..<k + n])
            p.generation = generation
            k += n
            out[i] = .ready(p)
        }
        return out
    }

    private func prepareOne(_ path: [UInt8]) -> PreparedOutcome {
        // O_NONBLOCK: a file replaced by a FIFO since the directory was read must not block
        // the commit in open(2); what was opened is checked to be a regular file.
        let fd = FileName.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { return .skipped("cannot read: \(Errno.current)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            return .skipped("not a regular file any more (replaced during the commit)")
        }
        guard st.st_size <= Self.maxSize else { return .fallback }
        let shown = String(validating: path, as: UTF8.self) ?? EntryPath(bytes: path).description
        var stream = FileChunkStream(path: shown, chunker: Chunker(), sizeHint: Int(st.st_size)) { buf in
            try syscall("read \(shown)") { read(fd, buf.baseAddress!, buf.count) }
        }
        do {
            let batch = try stream.nextBatch()
            guard stream.isAtEnd else { return .fallback }
            var chunks: [HashedChunk] = []
            var entries: [Manifest.Entry] = []
            if let batch {
                for i in batch.chunks.indices {
                    let h = HashedChunk(batch.bytes(i), known: known, compressors: compressors, tagger: tagger)
                    chunks.append(h)
                    entries.append(Manifest.Entry(id: h.id, length: UInt64(batch.chunks[i].count)))
                }
            }
            let bytes = Manifest(level: 0, entries: entries).bytes
            let compressed =
                bytes.count > BlockTagger.blockSize ? nil : compressors.with { c in bytes.withUnsafeBytes { c.compressIfSmaller($0) } }
            return .ready(
                PreparedFile(
                    batch: batch, chunks: chunks, manifest: ObjectHasher.hash(.manifest, bytes), manifestBytes: bytes,
                    manifestCompressed: compressed, size: UInt64(batch?.byteCount ?? 0), presence: [], generation: 0))
        } catch {
            return .failed(error)
        }
    }
}

extension WriteSession {
    var preparer: FilePreparer { FilePreparer(known: known, compressors: compressors, tagger: tagger, index: repo.index) }

    /// Stores a prepared file's new chunks and manifest; returns the manifest id and size.
    func putPrepared(_ p: PreparedFile) throws -> (manifest: ObjectID, size: UInt64) {
        let stale = p.generation != known.generation
        func have(_ id: ObjectID, _ presence: PreparedFile.Presence) throws -> Bool {
            if presence == .present { known.insert(id); return true }
            if known.contains(id) { return true }
            // The reader's answer predates a publish (or the chunk is in the evictable cache):
            // ask again.
            if stale || presence == .ask { return try isKnown(id) }
            return false
        }
        if let batch = p.batch {
            var records: [PackWriter.Record] = []
            var queued = Set<ObjectID>()
            for (i, h) in p.chunks.enumerated() {
                if queued.contains(h.id) { continue }
                if try have(h.id, p.presence[i]) { continue }
                queued.insert(h.id)
                let raw = batch.bytes(i)
                // The reader skipped compressing what `known` held then; it may be gone since.
                let tags = h.tags ?? (BlockTagger.tagsKept(length: raw.count) ? tagger.tags(for: h.id, raw) : nil)
                records.append(PackWriter.Record(id: h.id, kind: .chunk, raw: raw, compressed: h.compressed, tags: tags))
            }
            try appendChunks(records)
        }
        keptChunks += p.chunks.map(\.id)
        if try !have(p.manifest, p.presence[p.chunks.count]) {
            try appendManifest(p.manifest, p.manifestBytes, p.manifestCompressed)
        }
        try checkpointIfDue()
        return (p.manifest, p.size)
    }
}

extension Index {
    /// Per id: present and kept for good, absent, or present in the evictable chunk cache
    /// (`ask`: the writer must take it out first, `isPresentAndKept`). One read transaction.
    func presence(_ ids: [ObjectID]) throws -> [PreparedFile.Presence] {
        guard !ids.isEmpty else { return [] }
        return try read { db in
            let stmt = try db.cachedStatement(
                sql: """
                    SELECT pack IS NOT NULL, EXISTS (SELECT 1 FROM chunk_cache WHERE chunk_cache.id = objects.id)
                    FROM objects WHERE id = ?
                    """)
            return try ids.map { id in
                guard let row = try Row.fetchOne(stmt, arguments: [id]), row[0] as Bool else { return .absent }
                return row[1] as Bool ? .ask : .present
            }
        }
    }
}
