/// Reads ark's canonical encoding, validating every byte: bounds, minimal varints, UTF-8.
/// Every failure is an `ArkError.malformed` naming what was wrong and where.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let what: String

    init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.offset = 0; self.what = what }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    func fail(_ msg: String) -> ArkError { ArkError(.malformed, "malformed \(what): \(msg) at byte \(offset)") }

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw fail("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            let b = try u8()
            if shift == 63 && b > 1 { throw fail("varint overflow") }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                if b == 0 && offset - start > 1 { throw fail("non-minimal varint") }
                return result
            }
            shift += 7
            if shift > 63 { throw fail("varint too long") }
        }
    }

    mutating func svarint() throws -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// A varint that must fit a count of at most `max`.
    mutating func count(max: Int, _ name: String) throws -> Int {
        let v = try varint()
        guard v <= UInt64(max) else { throw fail("\(name) \(v) exceeds limit \(max)") }
        return Int(v)
    }

    mutating func u64() throws -> UInt64 {
        guard remaining >= 8 else { throw fail("truncated") }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    mutating func id() throws -> ObjectID {
        guard remaining >= 32 else { throw fail("truncated id") }
        defer { offset += 32 }
        return bytes.withUnsafeBytes { ObjectID(unsafeBytes: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 32])) }
    }

    mutating func data(max: Int, _ name: String) throws -> ArraySlice<UInt8> {
        let n = try count(max: max, name + " length")
        guard remaining >= n else { throw fail("truncated \(name)") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func string(max: Int, _ name: String) throws -> String {
        let d = try data(max: max, name)
        guard let s = String(validating: d, as: UTF8.self) else { throw fail("\(name) is not UTF-8") }
        return s
    }

    func expectEnd() throws {
        guard isAtEnd else { throw fail("\(remaining) trailing bytes") }
    }
}
