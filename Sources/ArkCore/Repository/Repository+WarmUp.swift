#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// Indexes up to this size are read once when a mount starts (a few MiB per GiB stored).
    public static let indexScanLimit = 64 << 20

    /// Prepares for a mount's first reads, in the background of a mount that already serves,
    /// so a first byte costs its own I/O and little else:
    /// - opens `readers` index connections with the read path's statements compiled, and reads
    ///   the object and tag tables once when the index is at most `indexScanLimit` bytes, so
    ///   the first lookups find their pages in memory instead of reading them one by one;
    /// - opens the newest packs, buffered and O_DIRECT, and fills the read buffer pool;
    /// - reads one block of one tagged chunk, so the read path's code has run once.
    ///
    /// (The index is read through SQLite, not with `posix_fadvise` on a descriptor of its own:
    /// closing another descriptor of a SQLite database drops the process's POSIX locks on it,
    /// under SQLite's feet.)
    public func warmUp(readers: Int) {
        index.warmReaders(readers)
        var st = stat()
        if stat(index.path, &st) == 0, st.st_size <= Self.indexScanLimit { index.scanObjectTables() }
        for p in (try? index.packs())?.suffix(64) ?? [] {
            _ = try? packs.file(p.id, name: { p.name })
            directReads.prepare(pack: p.id, name: { p.name })
        }
        if let id = try? index.anyTaggedObject() { _ = try? readChunk(id, range: 0..<1) }
    }
}
