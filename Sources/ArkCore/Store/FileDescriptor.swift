#if canImport(Glibc)
import Glibc
#endif

/// Owns one open file descriptor; closes it on deinit. pread/pwrite make it safe to share
/// between threads for reading.
public final class FileDescriptor: Sendable {
    public let raw: Int32
    public let path: String

    public init(open path: String, flags: Int32, mode: mode_t = 0o644) throws {
        self.path = path
        self.raw = try syscall("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    deinit { close(raw) }

    public func pread(into buf: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buf.count {
            let r = try syscall("read \(path)") { Glibc.pread(raw, buf.baseAddress! + done, buf.count - done, off_t(offset) + off_t(done)) }
            if r == 0 { throw ArkError(.corrupt, "\(path) is shorter than the index says", context: "offset \(offset + UInt64(done))") }
            done += r
        }
    }

    public func writeAll(_ buf: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buf.count {
            let r = try syscall("write \(path)") { Glibc.write(raw, buf.baseAddress! + done, buf.count - done) }
            done += r
        }
    }

    public func sync() throws { try syscall("fsync \(path)") { fsync(raw) } }

    public func size() throws -> UInt64 {
        var st = stat()
        try syscall("stat \(path)") { fstat(raw, &st) }
        return UInt64(st.st_size)
    }

    /// fsync a directory so a newly created or renamed entry in it is durable.
    public static func syncDirectory(_ path: String) throws {
        let d = try FileDescriptor(open: path, flags: O_RDONLY | O_DIRECTORY)
        try d.sync()
    }
}
