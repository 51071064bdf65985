/// A file manifest: total size and the ordered list of (chunk id, end offset), stored as
/// fixed 40-byte records after a small header so the entry holding byte offset X is found by
/// binary search over the encoded bytes, without decoding the whole list.
///
/// Level 0 entries name chunks; level n > 0 entries name level n-1 manifests (used when a
/// file has more than `ObjectLimits.maxManifestEntries` chunks, i.e. beyond ~2 GiB at the
/// default chunk sizes).
public struct Manifest: Sendable, Equatable {
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
    let recordBase: Int

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
        try ObjectHeader.read(.manifest, from: &r)
        let level = try r.u8()
        guard level <= Self.maxLevel else { throw r.fail("level \(level) above \(Self.maxLevel)") }
        let total = try r.varint()
        let n = try r.count(max: ObjectLimits.maxManifestEntries, "entry count")
        guard r.remaining == n * Self.recordSize else {
            throw r.fail("\(r.remaining) record bytes for \(n) entries")
        }
        guard (n == 0) == (total == 0) else { throw r.fail("entry count \(n) inconsistent with size \(total)") }
        self.level = level; self.totalSize = total; self.count = n
        self.bytes = bytes; self.recordBase = r.offset
        var prev: UInt64 = 0
        for i in 0..<n {
            let e = end(at: i)
            guard e > prev else { throw r.fail("entry \(i) has no bytes or goes backwards") }
            if level == 0 && e - prev > UInt64(ObjectLimits.maxChunkSize) { throw r.fail("entry \(i) longer than the chunk limit") }
            prev = e
        }
        guard prev == total else { throw r.fail("entries sum to \(prev), size says \(total)") }
    }

    public func id(at i: Int) -> ObjectID {
        bytes.withUnsafeBytes { ObjectID(unsafeBytes: UnsafeRawBufferPointer(rebasing: $0[(recordBase + i * Self.recordSize)...])) }
    }

    public func end(at i: Int) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: recordBase + i * Self.recordSize + 32, as: UInt64.self)) }
    }

    public func start(at i: Int) -> UInt64 { i == 0 ? 0 : end(at: i - 1) }

    public func entry(at i: Int) -> Entry { Entry(id: id(at: i), length: end(at: i) - start(at: i)) }

    public var entries: [Entry] { (0..<count).map(entry(at:)) }

    /// Index of the entry holding byte `offset`, by binary search; nil past the end.
    public func index(containing offset: UInt64) -> Int? {
        guard offset < totalSize else { return nil }
        var lo = 0, hi = count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if end(at: mid) <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
