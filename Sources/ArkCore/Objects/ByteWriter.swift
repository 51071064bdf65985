/// Appends the primitives of ark's canonical encoding: LEB128 varints (minimal), fixed-width
/// big-endian integers, length-prefixed byte strings and raw ids.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    /// Zig-zag signed varint.
    mutating func svarint(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }

    mutating func id(_ id: ObjectID) { id.withBytes { bytes.append(contentsOf: $0) } }

    mutating func data(_ d: some Collection<UInt8>) { varint(UInt64(d.count)); bytes.append(contentsOf: d) }

    mutating func string(_ s: String) { data(Array(s.utf8)) }
}
