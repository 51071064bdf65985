/// The leading records of a large manifest, read without the rest of it: the blocks they sit
/// in were checked by their block tags (`Repository.manifestPrefix`). Enough to serve the
/// start of a file (its first ~100 MiB per 16 KiB block read) while the whole manifest loads,
/// so opening a large file does not cost reading and hashing a few hundred KiB first.
package struct ManifestPrefix: ManifestRecords, Sendable {
    package let level: UInt8
    /// Size of the whole file (or subtree, above level 0).
    package let totalSize: UInt64
    /// Entries of the whole manifest.
    package let count: Int
    /// Entries decoded here: 0..<available.
    package let available: Int
    package let bytes: [UInt8]
    package let recordBase: Int

    /// Decodes the first `bytes.count` bytes of a manifest whose encoding has `encodedLength`
    /// bytes; every record that fits whole is checked as `Manifest(decoding:)` would.
    package init(decoding bytes: [UInt8], encodedLength: Int) throws {
        var r = ByteReader(bytes, what: "manifest")
        let (level, total, n) = try Manifest.readHeader(&r)
        guard encodedLength - r.offset == n * Manifest.recordSize else {
            throw r.fail("\(encodedLength - r.offset) record bytes for \(n) entries")
        }
        self.level = level; self.totalSize = total; self.count = n
        self.bytes = bytes; self.recordBase = r.offset
        available = min(n, r.remaining / Manifest.recordSize)
        let covered = try checkRecords(available, level: level, totalSize: total, &r)
        if available == n, covered != total { throw r.fail("entries sum to \(covered), size says \(total)") }
    }

    /// Bytes of the file the decoded entries cover, from 0.
    package var coveredSize: UInt64 { available == 0 ? 0 : end(at: available - 1) }

    /// Index of the entry holding byte `offset`; nil when it lies past the decoded entries.
    package func index(containing offset: UInt64) -> Int? {
        offset < coveredSize ? search(offset, below: available) : nil
    }
}
