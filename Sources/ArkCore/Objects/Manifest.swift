/// A file manifest: total size and the ordered list of (chunk id, end offset), stored as
/// fixed 40-byte records after a small header so the entry holding byte offset X is found by
/// binary search over the encoded bytes, without decoding the whole list.
///
/// Level 0 entries name chunks; level n > 0 entries name level n-1 manifests (used when a
/// file has more than `ObjectLimits.maxManifestEntries` chunks, i.e. beyond ~2 GiB at the
/// default chunk sizes).
public struct Manifest: ManifestRecords, Sendable, Equatable {
    public struct Entry: Equatable, Sendable {
        public var id: ObjectID
        public var length: UInt64
        public init(id: ObjectID, length: UInt64) { self.id = id; self.length = length }
    }

    public static let recordSize = 40
    public static let maxLevel: UInt8 = 3

    public let level: UInt8
    public let totalSize: UInt64
    public let count: Int
    /// The canonical encoding; records start at `recordBase`.
    public let bytes: [UInt8]
    public let recordBase: Int

    public init(level: UInt8 = 0, entries: [Entry]) {
        precondition(entries.count <= ObjectLimits.maxManifestEntries)
        var w = ByteWriter(capacity: 16 + entries.count * Self.recordSize)
        ObjectHeader.write(.manifest, into: &w)
        w.u8(level)
        let total = entries.reduce(UInt64(0)) { $0 + $1.length }
        w.varint(total)
        w.varint(UInt64(entries.count))
        let base = w.bytes.count
        var end: UInt64 = 0
        for e in entries {
            end += e.length
            w.id(e.id); w.u64(end)
        }
        self.level = level; self.totalSize = total; self.count = entries.count
        self.bytes = w.bytes; self.recordBase = base
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "manifest")
        let (level, total, n) = try Self.readHeader(&r)
        guard r.remaining == n * Self.recordSize else {
            throw r.fail("\(r.remaining) record bytes for \(n) entries")
        }
        self.level = level; self.totalSize = total; self.count = n
        self.bytes = bytes; self.recordBase = r.offset
        guard try checkRecords(n, level: level, totalSize: total, &r) == total else {
            throw r.fail("entries sum to \(n == 0 ? 0 : end(at: n - 1)), size says \(total)")
        }
    }

    /// Level, total size and entry count; the reader is left at the first record.
    static func readHeader(_ r: inout ByteReader) throws -> (level: UInt8, total: UInt64, count: Int) {
        try ObjectHeader.read(.manifest, from: &r)
        let level = try r.u8()
        guard level <= Self.maxLevel else { throw r.fail("level \(level) above \(Self.maxLevel)") }
        let total = try r.varint()
        let n = try r.count(max: ObjectLimits.maxManifestEntries, "entry count")
        guard (n == 0) == (total == 0) else { throw r.fail("entry count \(n) inconsistent with size \(total)") }
        return (level, total, n)
    }

    public var entries: [Entry] { (0..<count).map(entry(at:)) }

    /// Index of the entry holding byte `offset`, by binary search; nil past the end.
    public func index(containing offset: UInt64) -> Int? {
        offset < totalSize ? search(offset, below: count) : nil
    }
}

/// The fixed 40-byte records of a manifest's encoding (`Manifest`, `ManifestPrefix`).
public protocol ManifestRecords {
    /// The manifest's canonical encoding (or its leading part).
    var bytes: [UInt8] { get }
    /// Where the records start in `bytes`.
    var recordBase: Int { get }
}

extension ManifestRecords {
    public func id(at i: Int) -> ObjectID {
        bytes.withUnsafeBytes { ObjectID(unsafeBytes: UnsafeRawBufferPointer(rebasing: $0[(recordBase + i * Manifest.recordSize)...])) }
    }

    public func end(at i: Int) -> UInt64 {
        bytes.withUnsafeBytes {
            UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: recordBase + i * Manifest.recordSize + 32, as: UInt64.self))
        }
    }

    public func start(at i: Int) -> UInt64 { i == 0 ? 0 : end(at: i - 1) }

    public func entry(at i: Int) -> Manifest.Entry { Manifest.Entry(id: id(at: i), length: end(at: i) - start(at: i)) }

    /// The first of records 0..<n whose end is past `offset` (n must be > 0 and the last
    /// record's end past `offset`).
    func search(_ offset: UInt64, below n: Int) -> Int {
        var lo = 0, hi = n - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if end(at: mid) <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Checks that records 0..<n each add bytes, within the chunk limit at level 0 and within
    /// `totalSize`; returns the last record's end.
    func checkRecords(_ n: Int, level: UInt8, totalSize: UInt64, _ r: inout ByteReader) throws -> UInt64 {
        var prev: UInt64 = 0
        for i in 0..<n {
            let e = end(at: i)
            guard e > prev, e <= totalSize else { throw r.fail("entry \(i) has no bytes, goes backwards or passes the size") }
            if level == 0 && e - prev > UInt64(ObjectLimits.maxChunkSize) { throw r.fail("entry \(i) longer than the chunk limit") }
            prev = e
        }
        return prev
    }
}
