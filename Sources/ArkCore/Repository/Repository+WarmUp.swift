import Glibc

extension Repository {
    /// Prepares for a mount's first reads, in the background of a mount that already serves,
    /// so a first byte costs its own I/O and little else:
    /// - opens `readers` index connections with the read path's statement compiled;
    /// - opens the newest packs, buffered and O_DIRECT, and fills the read buffer pool;
    /// - reads one block of one tagged chunk (any chunk in a store of small files), so the
    ///   read path's code has run once;
    /// - reads the index file into the page cache (`prefetchIndexFile`), last: it takes a while.
    package func warmUp(readers: Int) {
        index.warmReaders(readers)
        for p in (try? index.packs())?.suffix(64) ?? [] {
            _ = try? packs.file(p.id, name: { p.name })
            directReads.prepare(pack: p.id, name: { p.name })
        }
        if let id = try? index.anyTaggedObject() ?? index.anyChunk() { _ = try? readChunk(id, range: 0..<1) }
        prefetchIndexFile()
    }

    /// Index files up to this size are read ahead when a mount starts.
    package static let indexPrefetchLimit = 256 << 20

    /// The index is read ahead in steps of this size, one step in flight at a time.
    package static let indexPrefetchStep = 64 << 10

    /// Reads the index file into the page cache, so a mount's lookups do not read cold B-tree
    /// pages one at a time.
    ///
    /// It goes in steps of `indexPrefetchStep`, each asked for with `posix_fadvise` WILLNEED
    /// and waited for by reading its last byte, so at most one step is ever queued at the disk.
    /// Asking for the whole file at once queued megabytes in front of the first reads a user
    /// makes just after a mount is ready: a first byte waited 4 ms behind an 11 MB index.
    ///
    /// It uses a descriptor SQLite already has open, found in `/proc/self/fd`: a descriptor of
    /// its own would, once closed, drop the process's POSIX locks on the database under
    /// SQLite's feet. Before each step it checks the descriptor still names the index file.
    /// (Reading the tables through SQLite instead goes page by page.)
    func prefetchIndexFile() {
        var st = stat()
        guard stat(index.path, &st) == 0, let real = realpath(index.path, nil) else { return }
        let path = String(cString: real)
        free(real)
        guard let fd = FileDescriptor.openDescriptors().first(where: { $0.target == path })?.fd else { return }
        let size = min(Int(st.st_size), Self.indexPrefetchLimit)
        var offset = 0
        var byte: UInt8 = 0
        while offset < size {
            var now = stat()
            guard fstat(fd, &now) == 0, now.st_dev == st.st_dev, now.st_ino == st.st_ino else { return }
            let n = min(Self.indexPrefetchStep, size - offset)
            guard posix_fadvise(fd, off_t(offset), off_t(n), POSIX_FADV_WILLNEED) == 0,
                pread(fd, &byte, 1, off_t(offset + n - 1)) == 1
            else { return }
            offset += n
        }
    }
}
