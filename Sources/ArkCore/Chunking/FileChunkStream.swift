import CArkIO
import Glibc
import Synchronization

/// Reads a file descriptor (or any byte source) sequentially and yields content-defined
/// chunks in batches: each batch is one read buffer (`ChunkSlab`) and the chunks cut in it, so
/// chunks can be hashed, compressed and written straight from the buffer on other threads
/// without being copied out. Only the unfinished tail of a buffer (less than one maximum
/// chunk) is copied into the next one.
package struct FileChunkStream {
    /// Fills the buffer with up to its size in bytes; returns how many, 0 at the end.
    package typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int
    private let source: Source
    private let chunker: Chunker
    private let pool: SlabPool
    private var tail: ChunkSlab?
    private var tailRange = 0..<0
    private var eof = false
    private let path: String
    // For `next()`: the batch being handed out chunk by chunk.
    private var current: ChunkBatch?
    private var currentIndex = 0
    /// Reads land at offsets in the buffer that are multiples of this (1, or the page size
    /// when the descriptor reads with O_DIRECT).
    private let alignment: Int

    /// Files at least this large are read with O_DIRECT (`directReads`).
    static let directReadMinimum = 16 << 20
    static let pageSize = 4096

    /// A regular file's size (fstat) is the size hint: a small file gets a buffer its size, not
    /// a full one. Committing many small files with a full (8 MiB) buffer each left the heap
    /// fragmented: each freed buffer was carved up by small allocations before the next file's
    /// buffer was taken, so the heap grew by a few touched pages per file (716 MB of
    /// anonymous memory after 200,000 files of 256 B to 2.2 KB).
    ///
    /// A file of `directReadMinimum` bytes or more is read with O_DIRECT (set on `fd` with
    /// `fcntl`) into page-aligned buffers: the kernel copying it out of the page cache was a
    /// third of a large commit's CPU here, and the file does not push everything else out of
    /// the page cache. A file system that refuses O_DIRECT, or a read it refuses (the last,
    /// unaligned one), continues with ordinary reads. So does a file wholly in the page cache
    /// already (cachestat), which the disk would only read again.
    /// `directReads`: nil decides as above; true reads any regular file with O_DIRECT where
    /// the file system allows it, false never (tests).
    package init(fd: Int32, path: String, chunker: Chunker, directReads: Bool? = nil) {
        var st = stat()
        let hint = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : nil
        let wanted =
            hint.map { size in directReads ?? (size >= Self.directReadMinimum && ark_range_cached(fd, 0, size_t(size)) != 1) } ?? false
        let flags = fcntl(fd, F_GETFL)
        let direct = wanted && flags >= 0 && fcntl(fd, F_SETFL, flags | ark_o_direct()) == 0
        self.init(path: path, chunker: chunker, sizeHint: hint, alignment: direct ? Self.pageSize : 1) { buf in
            try syscall("read \(path)") {
                let n = read(fd, buf.baseAddress!, buf.count)
                guard n < 0, errno == EINVAL, direct else { return n }
                let now = fcntl(fd, F_GETFL)
                guard now >= 0, now & ark_o_direct() != 0, fcntl(fd, F_SETFL, now & ~ark_o_direct()) == 0 else {
                    errno = EINVAL
                    return n
                }
                return read(fd, buf.baseAddress!, buf.count)
            }
        }
    }

    /// `sizeHint`: the exact input size when known, so small inputs get a small buffer.
    /// `alignment`: the buffer offset every read starts at is a multiple of it, and so is the
    /// buffer's size (O_DIRECT).
    package init(path: String, chunker: Chunker, sizeHint: Int? = nil, alignment: Int = 1, source: @escaping Source) {
        self.source = source
        self.path = path
        self.chunker = chunker
        self.alignment = alignment
        let full = Swift.max(chunker.parameters.max * 4, 8 << 20)
        let size = sizeHint.map { Swift.min(full, $0 + 1) } ?? full
        // Page-aligned only for O_DIRECT: small files' buffers stay ordinary allocations.
        self.pool = SlabPool(slabSize: (size + alignment - 1) / alignment * alignment, alignment: Swift.max(64, alignment))
    }

    /// Kept for callers that free explicitly; buffers are released with their last batch.
    package func deallocate() {}

    /// The next chunk (copied out), or nil at end of file.
    package mutating func next() throws -> [UInt8]? {
        while true {
            if let batch = current, currentIndex < batch.chunks.count {
                let chunk = [UInt8](batch.bytes(currentIndex))
                currentIndex += 1
                return chunk
            }
            guard let batch = try nextBatch() else { current = nil; return nil }
            current = batch; currentIndex = 0
        }
    }

    /// True when everything read has been handed out and the source is exhausted.
    package var isAtEnd: Bool { eof && tailRange.isEmpty }

    /// The chunks of the next buffer, or nil at end of file. A batch holds at least one chunk.
    package mutating func nextBatch() throws -> ChunkBatch? {
        if eof && tailRange.isEmpty { return nil }
        let slab = pool.take()
        let buffer = slab.buffer
        // The tail goes where it ends at an aligned offset, so the next read starts at one.
        let first = (alignment - tailRange.count % alignment) % alignment
        var end = first
        if let tail, !tailRange.isEmpty {
            (buffer.baseAddress! + first).copyMemory(from: tail.buffer.baseAddress! + tailRange.lowerBound, byteCount: tailRange.count)
            end = first + tailRange.count
        }
        tail = nil; tailRange = 0..<0
        while !eof && end < buffer.count {
            let r = try source(UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if r == 0 { eof = true; break }
            end += r
        }
        var chunks: [Range<Int>] = []
        var start = first
        let maxChunk = chunker.parameters.max
        // Cut only where at least one maximum chunk is available, unless it is the end (or a
        // buffer sized by a too-small hint is full: then cut within what it holds).
        while start < end && (eof || end - start >= maxChunk || (start == first && end == buffer.count)) {
            let n = chunker.cut(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
            chunks.append(start..<start + n)
            start += n
        }
        if start < end { tail = slab; tailRange = start..<end }
        if chunks.isEmpty {
            // The buffer is always larger than one maximum chunk, so this happens only at
            // the end of an empty input.
            return nil
        }
        return ChunkBatch(slab: slab, chunks: chunks)
    }
}

/// Chunks cut in one read buffer; keeps the buffer alive while any stage still uses it.
package struct ChunkBatch: Sendable {
    let slab: ChunkSlab
    package let chunks: [Range<Int>]

    package var byteCount: Int { chunks.isEmpty ? 0 : chunks.last!.upperBound - chunks.first!.lowerBound }

    /// Bytes of chunk `i`; valid while the batch is alive.
    package func bytes(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: slab.buffer[chunks[i]]) }
}

/// One read buffer; returned to its pool when the last batch using it is gone.
final class ChunkSlab: @unchecked Sendable {  // written only by the reader before it is shared, then read-only
    let buffer: UnsafeMutableRawBufferPointer
    private let pool: SlabPool

    init(buffer: UnsafeMutableRawBufferPointer, pool: SlabPool) { self.buffer = buffer; self.pool = pool }

    deinit { pool.give(buffer) }
}

/// Reuses read buffers so a large file does not map and fault in a fresh one per batch.
final class SlabPool: Sendable {
    /// A free buffer; owned by the pool's list while in it.
    private struct Free: @unchecked Sendable { let buffer: UnsafeMutableRawBufferPointer }  // only ever in the pool's locked list or with one taker
    let slabSize: Int
    let alignment: Int
    private let free = Mutex<[Free]>([])

    init(slabSize: Int, alignment: Int = 64) {
        self.slabSize = slabSize
        self.alignment = alignment
    }

    func take() -> ChunkSlab {
        let buf = free.withLock { $0.popLast() }?.buffer ?? .allocate(byteCount: slabSize, alignment: alignment)
        return ChunkSlab(buffer: buf, pool: self)
    }

    func give(_ buf: UnsafeMutableRawBufferPointer) {
        let item = Free(buffer: buf)
        let keep = free.withLock { list -> Bool in
            guard list.count < 8 else { return false }
            list.append(item); return true
        }
        if !keep { buf.deallocate() }
    }

    deinit { for f in free.withLock({ $0 }) { f.buffer.deallocate() } }
}
