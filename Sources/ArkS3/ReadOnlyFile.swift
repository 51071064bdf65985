import ArkCore
import AsyncHTTPClient
import Crypto
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file opened for `pread`; closed when the last reference goes.
package final class ReadOnlyFile: Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw ArkError(.io, "cannot open \(path) for upload: \(String(cString: strerror(errno)))", errno: Errno(rawValue: errno))
        }
    }

    deinit { close(fd) }

    /// Fails unless the file holds at least `length` bytes: checked before a streamed body is
    /// sent, so a short file is an error at once rather than a request that fails and is retried.
    func require(length: UInt64) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ArkError(.io, "cannot stat \(path) for upload: \(String(cString: strerror(errno)))", errno: Errno(rawValue: errno))
        }
        guard UInt64(st.st_size) >= length else { throw ArkError(.io, "\(path) is shorter than the \(length) bytes to upload") }
    }

    /// Exactly `length` bytes from `offset` (an error if the file is shorter).
    func read(offset: UInt64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        var done = 0
        while done < length {
            var n = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length - done) { raw in
                n = pread(fd, raw.baseAddress, length - done, off_t(offset) + off_t(done))
                return max(n, 0)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ArkError(.io, "cannot read \(path) for upload: \(String(cString: strerror(errno)))", errno: Errno(rawValue: errno))
            }
            if n == 0 { throw ArkError(.io, "\(path) is shorter than the \(length) bytes to upload at \(offset)") }
            done += n
        }
        return buffer
    }
}

/// A request body read from a file a piece at a time as it is sent (a pack going up in one
/// PUT), so an upload holds one piece in memory, not the whole file. Each attempt reads the
/// file again from the start.
package struct FileBody: Sendable {
    static let pieceSize = 1 << 20
    let file: ReadOnlyFile
    let length: Int

    /// The body's SHA-256 (for a signed payload), read piece by piece.
    func sha256Hex() throws -> String {
        var hash = SHA256()
        var offset = 0
        while offset < length {
            let n = min(Self.pieceSize, length - offset)
            try file.read(offset: UInt64(offset), length: n).withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
            offset += n
        }
        return hash.finalize().lowerHex
    }

    var requestBody: HTTPClient.Body {
        .stream(contentLength: Int64(length)) { writer in self.write(to: writer, from: 0) }
    }

    /// Writes the pieces from `offset` on, each once the one before it was taken. The reads
    /// run on the event loop: a pack just written is in the page cache.
    private func write(to writer: HTTPClient.Body.StreamWriter, from offset: Int) -> EventLoopFuture<Void> {
        let n = min(Self.pieceSize, length - offset)
        let piece: ByteBuffer
        do { piece = try file.read(offset: UInt64(offset), length: n) } catch {
            return writer.write(.byteBuffer(ByteBuffer())).flatMapThrowing { throw error }
        }
        let written = writer.write(.byteBuffer(piece))
        guard offset + n < length else { return written }
        return written.flatMap { self.write(to: writer, from: offset + n) }
    }
}
