extension Repository {
    /// Prepares for a mount's first reads, in the background of a mount that already serves,
    /// so a first byte costs its own I/O and little else:
    /// - opens `readers` index connections with the read path's statement compiled;
    /// - opens the newest packs, buffered and O_DIRECT, and fills the read buffer pool;
    /// - reads one block of one tagged chunk, so the read path's code has run once.
    ///
    /// The index file is not read ahead: `posix_fadvise` needs a descriptor of its own, and
    /// closing another descriptor of a SQLite database drops the process's POSIX locks on it,
    /// under SQLite's feet. Reading the tables through SQLite instead (page by page) made the
    /// first byte slower in the mount benchmark: it competed with the first reads for the disk.
    public func warmUp(readers: Int) {
        index.warmReaders(readers)
        for p in (try? index.packs())?.suffix(64) ?? [] {
            _ = try? packs.file(p.id, name: { p.name })
            directReads.prepare(pack: p.id, name: { p.name })
        }
        if let id = try? index.anyTaggedObject() { _ = try? readChunk(id, range: 0..<1) }
    }
}
