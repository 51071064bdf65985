#if canImport(Glibc)
import Glibc
#endif

/// Reads a file descriptor sequentially and yields content-defined chunks. Holds one buffer
/// of a few maximum chunk sizes; each chunk is copied out so it can be hashed and compressed
/// on another thread.
public struct FileChunkStream {
    private let fd: Int32
    private let chunker: Chunker
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var eof = false
    private let path: String

    public init(fd: Int32, path: String, chunker: Chunker) {
        self.fd = fd
        self.path = path
        self.chunker = chunker
        self.buffer = .allocate(byteCount: Swift.max(chunker.parameters.max * 4, 8 << 20), alignment: 64)
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
            let r = try syscall("read \(path)") { read(fd, buffer.baseAddress! + end, buffer.count - end) }
            if r == 0 { eof = true; break }
            end += r
        }
    }
}
