import ArkCore
import Dispatch
import Synchronization

extension Filesystem {
    /// Opens a file node for reading. Reads nothing: the manifest is loaded by the first read
    /// (and, from lookup or open on, ahead of it: `readFirstBytesAhead`).
    func open(_ node: Node) -> OpenFile? {
        guard case .entry(let e) = node, e.kind == .file || e.kind == .executable, let id = e.id else { return nil }
        return OpenFile(node: e, id: id, loader: manifestLoader)
    }

    /// Files at least this large start `readFirstBytesAhead` at lookup, not only at open.
    static let lookAheadSize: UInt64 = 16 << 20

    /// Loads what the first read of a file needs: its manifest, the manifest levels above its
    /// first chunk, and that chunk's first block (a small chunk whole). Callers answer the
    /// kernel first and then call this on the same thread (for open, and lookup of a large
    /// file), so these dependent reads overlap the kernel's next round trips (open, read)
    /// instead of following them, without waking another thread first (a wake-up costs
    /// 0.1-0.5 ms on a busy two-core machine). The first read waits for this work instead of
    /// repeating it. Once per file per mount; errors are left to the real read.
    func readFirstBytesAhead(_ e: Node.Entry) {
        guard e.kind == .file || e.kind == .executable, e.size > 0, let id = e.id else { return }
        guard
            firstBytesRead.withLock({ s in
                if s.count >= 65_536 { s.removeAll(keepingCapacity: true) }
                return s.insert(id).inserted
            })
        else { return }
        guard var m = try? manifestLoader.view(id) else { return }
        while m.level > 0 {
            guard m.index(containing: 0) != nil, let child = try? manifestLoader.view(m.id(at: 0)),
                child.level + 1 == m.level, child.totalSize == m.entry(at: 0).length
            else { return }
            m = child
        }
        guard m.index(containing: 0) != nil else { return }
        let first = m.entry(at: 0)
        if first.length <= UInt64(Self.wholeFirstChunk) {
            cache.load(first.id)
        } else {
            cache.readHead(first.id, range: 0..<Self.headBytes)
        }
    }

    /// One block tag's worth: what a first `read` of a few bytes makes the kernel ask for
    /// (its initial read-ahead of 16 KiB). A first chunk up to `wholeFirstChunk` is loaded
    /// whole instead: small files are usually read whole.
    static let headBytes = 16 << 10
    static let wholeFirstChunk = 64 << 10

    /// Reads [offset, offset+count) and calls `reply` once, from whichever thread delivers the
    /// last chunk. Every byte is verified before use. A streaming reader gets whole chunks
    /// (cached, with read-ahead); a new or seeking reader gets just the blocks it asked for
    /// (block tags), so a random 4 KiB read or a first byte does not cost a whole chunk.
    func read(_ file: OpenFile, offset: UInt64, count: Int, ino: UInt64, reply: @escaping @Sendable (Result<ReadResult, ArkError>) -> Void)
    {
        guard offset < file.size, count > 0 else { reply(.success(.empty)); return }
        let pieces: [(id: ObjectID, start: UInt64, length: UInt64)]
        do { pieces = try file.chunks(offset: offset, count: count) } catch {
            let e = error as? ArkError ?? ArkError(.io, "\(error)")
            logger.error("read of \(inodes.name(of: ino)) failed: its manifest: \(e)")
            reply(.failure(e)); return
        }
        guard !pieces.isEmpty else {
            reply(.failure(ArkError(.corrupt, "the manifest of \(inodes.name(of: ino)) covers no chunk at offset \(offset)"))); return
        }
        let end = min(offset + UInt64(count), file.size)
        let window = file.noteRead(offset: offset, count: count)
        let streaming = window > 2
        // A reader that just started gets its bytes first; after the reply, read-ahead loads
        // the rest of its last chunk and the next ones whole.
        if streaming, let last = pieces.last { readAhead(file, after: last.start + last.length, chunks: window) }
        let finish: @Sendable (Result<ReadResult, ArkError>) -> Void
        if streaming || window == 0 {
            finish = reply
        } else {
            let from = pieces.last?.start ?? offset
            finish = { [self] result in
                reply(result)
                readAhead(file, after: from, chunks: window + 1)
            }
        }

        let collector = ReadCollector(count: pieces.count)
        for (i, p) in pieces.enumerated() {
            // The part of this chunk the request covers.
            let part = Int(max(offset, p.start) - p.start)..<Int(min(end, p.start + p.length) - p.start)
            let whole = streaming || part.count == Int(p.length) || cache.contains(p.id)
            let deliver: ChunkCache.Completion = { [logger, inodes] result in
                switch result {
                case .success(let bytes) where bytes.count != (whole ? Int(p.length) : part.count):
                    // A (verified) manifest whose lengths disagree with its (verified) chunks:
                    // refuse the read rather than slice past the bytes.
                    logger.error(
                        "read of \(inodes.name(of: ino)) failed: manifest says chunk \(p.id) has \(p.length) bytes, it has \(bytes.count)")
                    if collector.fail() { finish(.failure(ArkError(.corrupt, "chunk length mismatch"))) }
                case .success(let bytes):
                    guard let done = collector.deliver(i, bytes, whole ? part : 0..<part.count) else { return }
                    finish(.success(.slices(done.filter { !$0.slice.isEmpty })))
                case .failure(let error):
                    let e = error as? ArkError ?? ArkError(.io, "\(error)")
                    logger.error("read of \(inodes.name(of: ino)) failed at chunk \(p.id) (offset \(p.start)): \(e)")
                    if collector.fail() { finish(.failure(e)) }
                }
            }
            if whole { cache.get(p.id, deliver) } else { cache.get(p.id, range: part, deliver) }
        }
    }

    /// Opens index connections in the background once the mount serves, so the first reads
    /// do not wait for them.
    func warmUp() {
        DispatchQueue.global(qos: .userInitiated).async { [source] in source.warmUp(readers: 2) }
    }

    /// The most a reader's read-ahead window may span: a quarter of the chunk cache. The
    /// cache evicts the least recently used, and the chunks a reader has just read were used
    /// more recently than those prefetched for it, so the window and about as much behind the
    /// reader must fit with room to spare, or prefetched chunks would be evicted before they
    /// are read (and read again). 2 MiB with the default cache.
    var maxReadAheadBytes: Int { cache.capacity / 4 }

    /// Chunks per prefetch batch (one load, read with few I/Os): a quarter of the largest
    /// window, so the window's batches load in parallel on the load pool, and the bytes a
    /// load holds twice (its read buffer and the chunks copied out) stay small next to the
    /// cache. 2 chunks (about 512 KiB) with the default cache, 16 from a 64 MiB cache up.
    var readAheadGroupSize: Int { min(16, max(1, maxReadAheadBytes / 4 / ChunkerParameters.default.avg)) }

    /// Prefetches whole chunks from `offset` up to about `chunks` average chunks ahead (at most
    /// `maxReadAheadBytes`), in batches (see `OpenFile.readAheadStart`).
    private func readAhead(_ file: OpenFile, after offset: UInt64, chunks: Int) {
        let windowBytes = UInt64(min(chunks * ChunkerParameters.default.avg, maxReadAheadBytes))
        guard var pos = file.readAheadStart(at: offset, windowBytes: windowBytes) else { return }
        let limit = min(offset + windowBytes, file.size)
        var ids: [ObjectID] = []
        while pos < limit, let (e, start) = try? file.locate(pos) {
            ids.append(e.id)
            pos = start + e.length
        }
        file.notePrefetched(upTo: pos)
        cache.prefetch(ids, groupSize: readAheadGroupSize)
    }
}

/// The bytes of one read: slices of the chunks it covers, in order, replied to without
/// copying them into one buffer.
enum ReadResult: Sendable {
    case empty
    case slices([(bytes: [UInt8], slice: Range<Int>)])

    /// Calls `body` with the pieces' bytes, valid for the call.
    func withBuffers<R>(_ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        guard case .slices(let parts) = self else { return body([]) }
        func nest(_ i: Int, _ acc: [UnsafeRawBufferPointer]) -> R {
            if i == parts.count { return body(acc) }
            return parts[i].bytes.withUnsafeBytes { nest(i + 1, acc + [UnsafeRawBufferPointer(rebasing: $0[parts[i].slice])]) }
        }
        return nest(0, [])
    }
}

/// Gathers the chunks of one read as they arrive; the last delivery gets them all, and a
/// failure is reported exactly once.
final class ReadCollector: Sendable {
    private struct State { var parts: [(bytes: [UInt8], slice: Range<Int>)?]; var remaining: Int; var failed = false }
    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(parts: Array(repeating: nil, count: count), remaining: count)) }

    func deliver(_ i: Int, _ bytes: [UInt8], _ slice: Range<Int>) -> [(bytes: [UInt8], slice: Range<Int>)]? {
        state.withLock { s in
            guard !s.failed else { return nil }
            s.parts[i] = (bytes, slice)
            s.remaining -= 1
            return s.remaining == 0 ? s.parts.map { $0! } : nil
        }
    }

    func fail() -> Bool {
        state.withLock { s in
            if s.failed { return false }
            s.failed = true
            return true
        }
    }
}
