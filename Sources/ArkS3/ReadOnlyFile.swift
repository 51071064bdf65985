import ArkCore
import AsyncHTTPClient
import CArkIO
import Crypto
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file opened for `pread`; closed when the last reference goes.
///
/// Pieces not in the page cache are read with O_DIRECT, straight into the piece's buffer: a
/// pack is written with O_DIRECT (`DirectAppender`), so its upload would otherwise fill fresh
/// page-cache pages with bytes nothing reads again, the cost the direct write avoided.
package final class ReadOnlyFile: Sendable {
    static let alignment = 4096
    let fd: Int32
    /// The same file opened with O_DIRECT, or -1 where the file system refuses it.
    let directFD: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw ArkError(.io, "cannot open \(path) for upload: \(String(cString: strerror(errno)))", errno: Errno(rawValue: errno))
        }
        directFD = open(path, O_RDONLY | O_CLOEXEC | ark_o_direct())
    }

    deinit {
        close(fd)
        if directFD >= 0 { close(directFD) }
    }

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
        if let direct = readDirect(offset: offset, length: length) { return direct }
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

    /// `length` bytes from an aligned `offset` read with O_DIRECT into an aligned place in the
    /// buffer, if they are not all in the page cache (then a buffered read copies them from
    /// there); nil whenever that does not give exactly `length` bytes (read them buffered).
    private func readDirect(offset: UInt64, length: Int) -> ByteBuffer? {
        let a = Self.alignment
        guard directFD >= 0, length > 0, offset % UInt64(a) == 0, ark_range_cached(fd, off_t(offset), length) == 0 else { return nil }
        let span = (length + a - 1) / a * a
        var buffer = ByteBufferAllocator().buffer(capacity: span + a)
        var pad = 0
        var done = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: span + a) { raw in
            pad = (a - Int(bitPattern: raw.baseAddress!) % a) % a
            while done < length {
                let n = pread(directFD, raw.baseAddress! + pad + done, span - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
                if done % a != 0 { break }  // the end of the file
            }
            return done >= length ? pad + length : 0
        }
        guard done >= length else { return nil }
        buffer.moveReaderIndex(forwardBy: pad)
        return buffer
    }
}
