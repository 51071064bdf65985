#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// Prepares for a mount's first reads, in the background of a mount that already serves,
    /// so a first byte costs its own I/O and little else:
    /// - opens `readers` index connections with the read path's statement compiled;
    /// - asks the kernel to read the index file ahead (`prefetchIndexFile`);
    /// - opens the newest packs, buffered and O_DIRECT, and fills the read buffer pool;
    /// - reads one block of one tagged chunk, so the read path's code has run once.
    public func warmUp(readers: Int) {
        index.warmReaders(readers)
        prefetchIndexFile()
        for p in (try? index.packs())?.suffix(64) ?? [] {
            _ = try? packs.file(p.id, name: { p.name })
            directReads.prepare(pack: p.id, name: { p.name })
        }
        if let id = try? index.anyTaggedObject() { _ = try? readChunk(id, range: 0..<1) }
    }

    /// Index files up to this size are read ahead when a mount starts.
    public static let indexPrefetchLimit = 256 << 20

    /// Asks the kernel to read the index file ahead (`posix_fadvise` WILLNEED: asynchronous,
    /// in large requests), so a mount's first lookups do not read cold B-tree pages one at a
    /// time. It uses a descriptor SQLite already has open, found in `/proc/self/fd`: a
    /// descriptor of its own would, once closed, drop the process's POSIX locks on the
    /// database under SQLite's feet. (Reading the tables through SQLite instead goes page by
    /// page, and held the disk while the first reads ran.)
    func prefetchIndexFile() {
        var st = stat()
        guard stat(index.path, &st) == 0, let real = realpath(index.path, nil) else { return }
        let path = String(cString: real)
        free(real)
        guard let d = FileDescriptor.openDescriptors().first(where: { $0.target == path }) else { return }
        _ = posix_fadvise(d.fd, 0, off_t(min(Int(st.st_size), Self.indexPrefetchLimit)), POSIX_FADV_WILLNEED)
    }
}
