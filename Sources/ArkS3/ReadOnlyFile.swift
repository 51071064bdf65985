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
