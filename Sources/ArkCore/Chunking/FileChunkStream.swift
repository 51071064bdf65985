#if canImport(Glibc)
import Glibc
#endif

/// Reads a file descriptor (or any byte source) sequentially and yields content-defined
/// chunks. Holds one buffer of a few maximum chunk sizes; each chunk is copied out so it can
/// be hashed and compressed on another thread.
public struct FileChunkStream {
    /// Fills the buffer with up to its size in bytes; returns how many, 0 at the end.
    public typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int
    private let source: Source
    private let chunker: Chunker
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var eof = false
    private let path: String

    public init(fd: Int32, path: String, chunker: Chunker) {
        self.init(path: path, chunker: chunker) { buf in
            try syscall("read \(path)") { read(fd, buf.baseAddress!, buf.count) }
        }
    }

    /// `sizeHint`: the exact input size when known, so small inputs get a small buffer.
    public init(path: String, chunker: Chunker, sizeHint: Int? = nil, source: @escaping Source) {
        self.source = source
        self.path = path
        self.chunker = chunker
        let full = Swift.max(chunker.parameters.max * 4, 8 << 20)
        self.buffer = .allocate(byteCount: sizeHint.map { Swift.min(full, $0 + 1) } ?? full, alignment: 64)
    }

    public func deallocate() { buffer.deallocate() }

    /// The next chunk, or nil at end of file.
    public mutating func next() throws -> [UInt8]? {
        if end - start < chunker.parameters.max && !eof { try refill() }
        if start == end { return nil }
        let window = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
        let n = chunker.cut(window)
        let chunk = [UInt8](UnsafeRawBufferPointer(rebasing: window[0..<n]))
        start += n
        return chunk
    }

    private mutating func refill() throws {
        if start > 0 {
            let live = end - start
            if live > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: live) }
            start = 0; end = live
        }
        while end < buffer.count {
            let r = try source(UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if r == 0 { eof = true; break }
            end += r
        }
    }
}
