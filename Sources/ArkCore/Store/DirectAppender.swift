import CArkIO
import Glibc

/// Writes a new file front to back with O_DIRECT, so its bytes never pass through the page
/// cache. On the VMs we measure, filling fresh page-cache pages with a pack's bytes was a third
/// of a large commit's CPU (`copy_folio_from_iter_atomic`, docs/benchmarks.md): the host backs
/// every newly touched page. Here the bytes are copied into one aligned staging buffer, reused
/// for the whole file, and go to the disk a whole number of 4 KiB blocks at a time.
///
/// `flush()` also writes the partly filled last block, padded, and cuts the file back to its
/// size; that block stays staged and is written again, whole, once more bytes follow. A file
/// system without O_DIRECT (tmpfs), or one that refuses an aligned write (EINVAL), gets the
/// same writes through the page cache from then on.
final class DirectAppender {
    static let alignment = 4096
    /// Staged bytes written once this many have gathered.
    static let stagingSize = 4 << 20

    private var file: FileDescriptor?
    private let base: UnsafeMutableRawPointer
    /// File offset of the first staged byte (a multiple of `alignment`).
    private var start: UInt64 = 0
    private var count = 0
    private var direct = true

    /// Nil if the aligned staging buffer cannot be allocated. One appender writes one file
    /// after another (`begin`), so the buffer's pages are touched once per writer.
    init?() {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, Self.alignment, Self.stagingSize) == 0, let p else { return nil }
        base = p
    }

    /// Starts appending to `file`, a new empty file; false when O_DIRECT cannot be set on it
    /// (write it buffered then). Bytes staged for the file before are dropped: flush first.
    func begin(_ file: FileDescriptor) -> Bool {
        let flags = fcntl(file.raw, F_GETFL)
        guard flags >= 0, fcntl(file.raw, F_SETFL, flags | ark_o_direct()) == 0 else { return false }
        self.file = file
        start = 0
        count = 0
        direct = true
        return true
    }

    deinit { free(base) }

    /// The file's size once everything appended is written.
    var size: UInt64 { start + UInt64(count) }

    /// Whether writes still bypass the page cache (false after the file system refused one).
    var isDirect: Bool { direct }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = min(bytes.count - done, Self.stagingSize - count)
            (base + count).copyMemory(from: bytes.baseAddress! + done, byteCount: n)
            count += n
            done += n
            if count == Self.stagingSize { try writeWholeBlocks() }
        }
    }

    func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    /// Writes every staged byte, the last block padded with zeros, and truncates the file to
    /// `size`. Durability is the caller's `fdatasync`.
    func flush() throws {
        guard let file else { return }
        try writeWholeBlocks()
        guard count > 0 else { return }
        let padded = (count + Self.alignment - 1) / Self.alignment * Self.alignment
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: padded - count)
        try write(padded)
        try syscall("truncate \(file.path)") { ftruncate(file.raw, off_t(size)) }
    }

    /// Writes the staged whole blocks and keeps the remainder (under one block) staged.
    private func writeWholeBlocks() throws {
        let whole = count / Self.alignment * Self.alignment
        guard whole > 0 else { return }
        try write(whole)
        let rest = count - whole
        if rest > 0 { base.copyMemory(from: base + whole, byteCount: rest) }
        start += UInt64(whole)
        count = rest
    }

    /// Writes the first `length` staged bytes at `start` (`length` a multiple of the alignment
    /// unless the file system took the descriptor out of O_DIRECT).
    private func write(_ length: Int) throws {
        guard let file else { preconditionFailure("DirectAppender used before begin") }
        var done = 0
        while done < length {
            let r = Glibc.pwrite(file.raw, base + done, length - done, off_t(start) + off_t(done))
            if r >= 0 {
                done += r
                continue
            }
            let e = Errno.current
            if e == .interrupted { continue }
            if e == .invalidArgument && direct {
                // The file system accepted O_DIRECT at open but not for this write: page cache.
                let flags = fcntl(file.raw, F_GETFL)
                if flags >= 0 && fcntl(file.raw, F_SETFL, flags & ~ark_o_direct()) == 0 {
                    direct = false
                    continue
                }
            }
            throw ArkError(.io, "write \(file.path): \(e)", errno: e)
        }
    }
}
