import ArkCore
import Dispatch
import Synchronization

extension Filesystem {
    /// Opens a file node for reading: its verified manifest, or for a large one just the
    /// leading records (see `ManifestLoader.view`).
    func open(_ node: Node) throws -> OpenFile? {
        guard case .entry(let e) = node, e.kind == .file || e.kind == .executable, let id = e.id else { return nil }
        return OpenFile(node: e, id: id, manifest: try manifestLoader.view(id), loader: manifestLoader)
    }

    /// Reads [offset, offset+count) and calls `reply` once, from whichever thread delivers the
    /// last chunk. Every byte is verified before use. A streaming reader gets whole chunks
    /// (cached, with read-ahead); a new or seeking reader gets just the blocks it asked for
    /// (block tags), so a random 4 KiB read or a first byte does not cost a whole chunk.
    func read(_ file: OpenFile, offset: UInt64, count: Int, ino: UInt64, reply: @escaping @Sendable (Result<ReadResult, ArkError>) -> Void) {
        guard offset < file.size, count > 0 else { reply(.success(.empty)); return }
        let pieces: [(id: ObjectID, start: UInt64, length: UInt64)]
        do { pieces = try file.chunks(offset: offset, count: count) } catch {
            reply(.failure(error as? ArkError ?? ArkError(.io, "\(error)"))); return
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
        if streaming || window == 0 { finish = reply } else {
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
                    logger.error("read of \(inodes.name(of: ino)) failed: manifest says chunk \(p.id) has \(p.length) bytes, it has \(bytes.count)")
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

    /// Prefetches whole chunks from `offset` up to about `chunks` average chunks ahead, in
    /// batches (see `OpenFile.readAheadStart`).
    /// Opens index connections in the background once the mount serves, so the first reads
    /// do not wait for them.
    func warmUp() {
        DispatchQueue.global(qos: .userInitiated).async { [source] in source.warmUp(readers: 2) }
    }

    private func readAhead(_ file: OpenFile, after offset: UInt64, chunks: Int) {
        let windowBytes = UInt64(chunks * ChunkerParameters.default.avg)
        guard var pos = file.readAheadStart(at: offset, windowBytes: windowBytes) else { return }
        let limit = min(offset + windowBytes, file.size)
        var ids: [ObjectID] = []
        while pos < limit, let (e, start) = try? file.locate(pos) {
            ids.append(e.id)
            pos = start + e.length
        }
        file.notePrefetched(upTo: pos)
        cache.prefetch(ids)
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
