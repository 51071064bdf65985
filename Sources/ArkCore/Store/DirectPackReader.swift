import CArkIO
import Glibc
import Synchronization

/// Reads ranges of pack files into reused aligned buffers, for chunk reads checked by block
/// tags. Bytes already in the page cache are copied from it (a buffered read, after
/// cachestat(2) said they are all there); the others are read with O_DIRECT, from the disk
/// into the buffer instead of through the page cache, which saves one kernel copy per byte
/// and keeps pack data from being cached a second time next to a mount's own page cache.
/// Where O_DIRECT is not supported (tmpfs) or a read does not go as expected, `read` returns
/// nil and the caller reads buffered.
final class DirectPackReader: Sendable {
    static let alignment = 4096
    /// The largest coalesced read (`Repository.maxCoalescedRead`) plus alignment slack on both
    /// ends; larger reads get a one-off buffer. Pages of a pooled buffer count toward memory
    /// only once a read has used them.
    static let bufferSize = (4 << 20) + 2 * alignment
    static let pooledBuffers = 6
    /// Idle pipes kept for reuse (two descriptors each; a pipe's pages are freed as soon as it
    /// is drained, so an idle one holds no memory, only its share of pipe-user-pages).
    static let pooledPipes = 16

    /// An aligned buffer from `posix_memalign`.
    private struct Buffer: @unchecked Sendable {  // owned by exactly one reader or the pool at a time
        let base: UnsafeMutableRawPointer
        let size: Int
    }

    private let directory: String
    private let files = Mutex<[Int64: FileDescriptor]>([:])
    private let pool = Mutex<[Buffer]>([])
    private let unsupported = Atomic<Bool>(false)
    private let noCachestat = Atomic<Bool>(false)
    private let pipes = Mutex<[SplicePipe]>([])
    private let noSplice = Atomic<Bool>(false)
    /// Bytes read through a `SplicePipe` so far (for tests and diagnostics).
    let splicedBytes = Atomic<Int>(0)

    init(directory: String) { self.directory = directory }

    deinit { for b in pool.withLock({ $0 }) { free(b.base) } }

    /// Calls `body` with the `count` bytes at `offset` of pack `pack`, read with O_DIRECT, and
    /// returns its result; nil if they could not be read that way (read them buffered then).
    func read<R>(
        pack: Int64, name: () throws -> String?, offset: UInt64, count: Int, cached: FileDescriptor? = nil,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R? {
        guard count > 0 else { return nil }
        if let cached, count <= Self.bufferSize, isCached(cached, offset: offset, count: count), let buffer = take(count) {
            defer { give(buffer) }
            if (try? cached.pread(into: UnsafeMutableRawBufferPointer(start: buffer.base, count: count), at: offset)) != nil {
                return body(UnsafeRawBufferPointer(start: buffer.base, count: count))
            }
        }
        guard !unsupported.load(ordering: .relaxed), let file = file(pack, name: name) else { return nil }
        let a = UInt64(Self.alignment)
        let start = offset / a * a
        let end = (offset + UInt64(count) + a - 1) / a * a
        let length = Int(end - start)
        guard let buffer = take(length) else { return nil }
        defer { give(buffer) }
        let done = readDirect(file, into: buffer.base, length: length, at: start)
        guard UInt64(done) >= offset - start + UInt64(count) else {
            files.withLock { _ = $0.removeValue(forKey: pack) }
            return nil
        }
        return body(UnsafeRawBufferPointer(start: buffer.base + Int(offset - start), count: count))
    }

    /// Reads `length` bytes at aligned `start` with O_DIRECT; returns how many it read (short
    /// at the end of the file or on an error). The disk's DMA goes into pages of a pipe,
    /// copied from there into `base`: see `SplicePipe`.
    private func readDirect(_ file: FileDescriptor, into base: UnsafeMutableRawPointer, length: Int, at start: UInt64) -> Int {
        let a = UInt64(Self.alignment)
        var done = 0
        if !noSplice.load(ordering: .relaxed), let pipe = takePipe() {
            var healthy = true
            var pos = off_t(start)
            while done < length {
                let n = ark_splice_from_file(file.raw, &pos, pipe.writeEnd, min(length - done, pipe.capacity))
                if n < 0 && errno == EINTR { continue }
                // A kernel or filesystem that cannot splice from this file: plain pread from now on.
                if n < 0 && done == 0 && [EINVAL, ENOSYS, EOPNOTSUPP].contains(errno) { noSplice.store(true, ordering: .relaxed) }
                if n <= 0 { break }
                guard pipe.drain(n, into: base + done) else { healthy = false; break }
                done += n
                if (start + UInt64(done)) % a != 0 { break }
            }
            if healthy { givePipe(pipe) }
            splicedBytes.add(done, ordering: .relaxed)
            if done > 0 || !noSplice.load(ordering: .relaxed) { return done }
        }
        while done < length {
            let r = Glibc.pread(file.raw, base + done, length - done, off_t(start) + off_t(done))
            if r < 0 && errno == EINTR { continue }
            // EINVAL: the filesystem accepted O_DIRECT at open but not for I/O; stop trying.
            if r < 0 && errno == EINVAL { unsupported.store(true, ordering: .relaxed) }
            if r <= 0 { break }
            done += r
            // Past the end of the file (the last record of a pack), or a short read.
            if (start + UInt64(done)) % a != 0 { break }
        }
        return done
    }

    private func takePipe() -> SplicePipe? { pipes.withLock { $0.popLast() } ?? SplicePipe() }

    private func givePipe(_ p: SplicePipe) {
        pipes.withLock { if $0.count < Self.pooledPipes { $0.append(p) } }
    }

    /// Whether the range is all in the page cache (then a buffered read copies it from there).
    /// Asked with cachestat(2): probing with a non-blocking read (preadv2 RWF_NOWAIT) would
    /// start readahead of uncached pages, so every cold byte would be read twice. Without
    /// cachestat (Linux before 6.5) everything is read with O_DIRECT.
    private func isCached(_ file: FileDescriptor, offset: UInt64, count: Int) -> Bool {
        guard !noCachestat.load(ordering: .relaxed) else { return false }
        switch ark_range_cached(file.raw, off_t(offset), count) {
        case 1: return true
        case 0: return false
        default:
            if errno == ENOSYS || errno == EPERM { noCachestat.store(true, ordering: .relaxed) }
            return false
        }
    }

    /// Opens the O_DIRECT descriptor of `pack` and fills the buffer and pipe pools ahead of the
    /// first reads (a mount warming up), so they do not pay for any of it.
    func prepare(pack: Int64, name: () throws -> String?) {
        _ = file(pack, name: name)
        let missing = Self.pooledBuffers / 2 - pool.withLock { $0.count }
        for _ in 0..<max(0, missing) { if let b = allocate(Self.bufferSize) { give(b) } }
        if pipes.withLock({ $0.isEmpty }), let p = SplicePipe() { givePipe(p) }
    }

    /// Forgets a descriptor (its bytes did not check out: maybe a pack replaced under a reused id).
    func drop(_ pack: Int64) { _ = files.withLock { $0.removeValue(forKey: pack) } }

    private func file(_ pack: Int64, name: () throws -> String?) -> FileDescriptor? {
        if let f = files.withLock({ $0[pack] }) { return f }
        guard let n = try? name() else { return nil }
        let path = directory + "/" + n
        let raw = Glibc.open(path, O_RDONLY | ark_o_direct() | O_CLOEXEC)
        guard raw >= 0 else {
            // EINVAL: this filesystem has no O_DIRECT; stop trying for this store.
            if errno == EINVAL { unsupported.store(true, ordering: .relaxed) }
            return nil
        }
        let f = FileDescriptor(owning: raw, path: path)
        return files.withLock { cache in
            if let existing = cache[pack] { return existing }
            if cache.count >= 256 { cache.removeAll() }
            cache[pack] = f
            return f
        }
    }

    private func take(_ length: Int) -> Buffer? {
        if length <= Self.bufferSize, let b = pool.withLock({ $0.popLast() }) { return b }
        return allocate(max(length, Self.bufferSize))
    }

    private func allocate(_ size: Int) -> Buffer? {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, Self.alignment, size) == 0, let p else { return nil }
        return Buffer(base: p, size: size)
    }

    private func give(_ b: Buffer) {
        let kept =
            b.size == Self.bufferSize
            && pool.withLock { pool in
                guard pool.count < Self.pooledBuffers else { return false }
                pool.append(b)
                return true
            }
        if !kept { free(b.base) }
    }
}
