import CArkFuse
import CFuse
import Foundation

/// A pending kernel request. libfuse allows replying from any thread, exactly once.
struct FuseRequest: @unchecked Sendable {  // fuse_req_t: replied to once, from whichever thread finishes the work
    let raw: fuse_req_t

    /// The calling thread's id (0 when it is in another pid namespace).
    var callerTID: Int32 { fuse_req_ctx(raw)?.pointee.pid ?? 0 }

    func error(_ code: Int32) { fuse_reply_err(raw, code) }

    func error(_ e: Error) { fuse_reply_err(raw, FuseErrno.code(for: e)) }

    func entry(ino: UInt64, attr: stat, timeout: Double) {
        var p = fuse_entry_param()
        p.ino = fuse_ino_t(ino)
        p.generation = 1
        p.attr = attr
        p.attr_timeout = timeout
        p.entry_timeout = timeout
        fuse_reply_entry(raw, &p)
    }

    /// A cached negative lookup (ino 0) for immutable directories.
    func negativeEntry(timeout: Double) {
        var p = fuse_entry_param()
        p.entry_timeout = timeout
        fuse_reply_entry(raw, &p)
    }

    func attr(_ st: stat, timeout: Double) {
        var st = st
        fuse_reply_attr(raw, &st, timeout)
    }

    func bytes(_ b: UnsafeRawBufferPointer) {
        fuse_reply_buf(raw, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
    }

    /// Replies with several buffers in order, gathered by the kernel (no copy into one buffer).
    func bytes(_ parts: [UnsafeRawBufferPointer]) {
        var iov = parts.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        fuse_reply_iov(raw, &iov, Int32(iov.count))
    }

    func none() { fuse_reply_none(raw) }
}
