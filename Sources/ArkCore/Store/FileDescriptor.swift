import CArkIO
import Glibc

/// Owns one open file descriptor; closes it on deinit. pread/pwrite make it safe to share
/// between threads for reading.
package final class FileDescriptor: Sendable {
    package let raw: Int32
    package let path: String

    package init(open path: String, flags: Int32, mode: mode_t = 0o644) throws {
        self.path = path
        self.raw = try syscall("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Takes ownership of an open descriptor.
    init(owning raw: Int32, path: String) {
        self.raw = raw
        self.path = path
    }

    deinit { close(raw) }

    package func pread(into buf: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buf.count {
            let r = try syscall("read \(path)") { Glibc.pread(raw, buf.baseAddress! + done, buf.count - done, off_t(offset) + off_t(done)) }
            if r == 0 { throw ArkError(.corrupt, "\(path) is shorter than the index says", context: "offset \(offset + UInt64(done))") }
            done += r
        }
    }

    package func writeAll(_ buf: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buf.count {
            let r = try syscall("write \(path)") { Glibc.write(raw, buf.baseAddress! + done, buf.count - done) }
            done += r
        }
    }

    /// Writes all of `vecs` in order (`writev`, continuing after short writes).
    func writeAll(_ vecs: [iovec]) throws {
        var vecs = vecs[...]
        while !vecs.isEmpty {
            let n = Swift.min(vecs.count, 1024)  // IOV_MAX on Linux
            var written = try vecs.withUnsafeBufferPointer { v in
                try syscall("write \(path)") { writev(raw, v.baseAddress!, Int32(n)) }
            }
            while written > 0, let first = vecs.first {
                if written >= first.iov_len {
                    written -= first.iov_len; vecs = vecs.dropFirst()
                } else {
                    vecs[vecs.startIndex].iov_base = vecs[vecs.startIndex].iov_base! + written
                    vecs[vecs.startIndex].iov_len -= written
                    written = 0
                }
            }
            while let first = vecs.first, first.iov_len == 0 { vecs = vecs.dropFirst() }
        }
    }

    /// Starts writeback of a written range without waiting for it (a hint: durability still
    /// comes only from `sync()`).
    func startWriteback(from offset: UInt64, count: UInt64) {
        guard count > 0 else { return }
        _ = ark_start_writeback(raw, off_t(offset), off_t(count))
    }

    package func sync() throws { try syscall("fsync \(path)") { fsync(raw) } }

    /// Like `sync()` for file contents and the metadata needed to read them back (size), but
    /// without flushing timestamps.
    package func syncData() throws { try syscall("fdatasync \(path)") { fdatasync(raw) } }

    package func size() throws -> UInt64 {
        var st = stat()
        try syscall("stat \(path)") { fstat(raw, &st) }
        return UInt64(st.st_size)
    }

    /// The descriptors this process has open, with what each refers to (`/proc/self/fd`).
    package static func openDescriptors() -> [(fd: Int32, target: String)] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        var out: [(Int32, String)] = []
        var link = [CChar](repeating: 0, count: 4097)
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            guard let fd = Int32(name) else { continue }
            let n = readlink("/proc/self/fd/" + name, &link, link.count - 1)
            out.append((fd, String(decoding: link[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return out
    }

    /// fsync a directory so a newly created or renamed entry in it is durable.
    package static func syncDirectory(_ path: String) throws {
        let d = try FileDescriptor(open: path, flags: O_RDONLY | O_DIRECTORY)
        try d.sync()
    }
}
