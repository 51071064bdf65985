import ArkCore
import Synchronization

extension Filesystem {
    /// Opens a file node for reading: loads (and verifies) its manifest once.
    func open(_ node: Node) throws -> OpenFile? {
        guard case .entry(let e) = node, e.kind == .file || e.kind == .executable, let id = e.id else { return nil }
        return OpenFile(node: e, manifest: try manifest(id), source: source)
    }

    /// Reads [offset, offset+count) and calls `reply` once, from whichever thread delivers the
    /// last chunk. Every chunk is verified before use; read-ahead starts for sequential readers.
    func read(_ file: OpenFile, offset: UInt64, count: Int, ino: UInt64, reply: @escaping @Sendable (Result<ReadResult, ArkError>) -> Void) {
        guard offset < file.size, count > 0 else { reply(.success(.empty)); return }
        let pieces: [(id: ObjectID, start: UInt64, length: UInt64)]
        do { pieces = try file.chunks(offset: offset, count: count) } catch {
            reply(.failure(error as? ArkError ?? ArkError(.io, "\(error)"))); return
        }
        let end = min(offset + UInt64(count), file.size)
        let window = file.noteRead(offset: offset, count: count)
        if window > 0, let last = pieces.last { readAhead(file, after: last.start + last.length, chunks: window) }

        let collector = ReadCollector(count: pieces.count)
        for (i, p) in pieces.enumerated() {
            cache.get(p.id) { [logger, inodes] result in
                switch result {
                case .success(let bytes) where UInt64(bytes.count) != p.length:
                    // A (verified) manifest whose lengths disagree with its (verified) chunks:
                    // refuse the read rather than slice past the bytes.
                    logger.error("read of \(inodes.name(of: ino)) failed: manifest says chunk \(p.id) has \(p.length) bytes, it has \(bytes.count)")
                    if collector.fail() { reply(.failure(ArkError(.corrupt, "chunk length mismatch"))) }
                case .success(let bytes):
                    guard let done = collector.deliver(i, bytes) else { return }
                    reply(.success(ReadResult.assemble(done, pieces: pieces.map { ($0.start, $0.length) }, from: offset, to: end)))
                case .failure(let error):
                    let e = error as? ArkError ?? ArkError(.io, "\(error)")
                    logger.error("read of \(inodes.name(of: ino)) failed at chunk \(p.id) (offset \(p.start)): \(e)")
                    if collector.fail() { reply(.failure(e)) }
                }
            }
        }
    }

    private func readAhead(_ file: OpenFile, after offset: UInt64, chunks: Int) {
        var pos = offset
        for _ in 0..<chunks {
            guard pos < file.size, let (e, start) = try? file.locate(pos) else { return }
            cache.prefetch(e.id)
            pos = start + e.length
        }
    }
}

/// The bytes of one read: a slice of a single chunk (no copy) or an assembled buffer.
enum ReadResult: Sendable {
    case empty
    case slice([UInt8], Range<Int>)
    case buffer([UInt8])

    static func assemble(_ chunks: [[UInt8]], pieces: [(start: UInt64, length: UInt64)], from offset: UInt64, to end: UInt64) -> ReadResult {
        if chunks.count == 1 {
            let lo = Int(offset - pieces[0].start), hi = Int(end - pieces[0].start)
            return .slice(chunks[0], lo..<min(hi, chunks[0].count))
        }
        var out = [UInt8]()
        out.reserveCapacity(Int(end - offset))
        for (c, p) in zip(chunks, pieces) {
            let lo = Int(max(offset, p.start) - p.start)
            let hi = Int(min(end, p.start + p.length) - p.start)
            if lo < hi { out.append(contentsOf: c[lo..<hi]) }
        }
        return .buffer(out)
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch self {
        case .empty: return body(UnsafeRawBufferPointer(start: nil, count: 0))
        case .slice(let a, let r): return a.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[r])) }
        case .buffer(let a): return a.withUnsafeBytes { body($0) }
        }
    }
}

/// Gathers the chunks of one read as they arrive; the last delivery gets them all, and a
/// failure is reported exactly once.
final class ReadCollector: Sendable {
    private struct State { var chunks: [[UInt8]?]; var remaining: Int; var failed = false }
    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(chunks: Array(repeating: nil, count: count), remaining: count)) }

    func deliver(_ i: Int, _ bytes: [UInt8]) -> [[UInt8]]? {
        state.withLock { s in
            guard !s.failed else { return nil }
            s.chunks[i] = bytes
            s.remaining -= 1
            return s.remaining == 0 ? s.chunks.map { $0! } : nil
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
