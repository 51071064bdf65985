import ArkCore

/// Appends the sync protocol's primitives: LEB128 varints, fixed-width big-endian integers,
/// length-prefixed byte strings and 32-byte ids.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func varint(_ v: UInt64) { RBSRVarint.append(v, to: &bytes) }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func id(_ id: ObjectID) { id.withBytes { bytes.append(contentsOf: $0) } }
    mutating func data(_ d: [UInt8]) { varint(UInt64(d.count)); bytes.append(contentsOf: d) }
    mutating func string(_ s: String) { data(Array(s.utf8)) }
    mutating func raw(_ d: [UInt8]) { bytes.append(contentsOf: d) }
}

/// A strict cursor over a received message: every count and length is bounded, varints must be
/// minimal, strings valid UTF-8; failures are `SyncError.protocolViolation` naming what and where.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    let what: String

    init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.what = what }

    var remaining: Int { bytes.count - offset }

    func fail(_ message: String) -> SyncError { .protocolViolation("malformed \(what): \(message) at byte \(offset)") }

    mutating func u8(_ field: String) throws -> UInt8 {
        guard offset < bytes.count else { throw fail("truncated \(field)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint(_ field: String) throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        let start = offset
        while true {
            let b = try u8(field)
            if shift == 63 && b > 1 { throw fail("\(field) overflows 64 bits") }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                if b == 0 && offset - start > 1 { throw fail("non-minimal varint in \(field)") }
                return result
            }
            shift += 7
        }
    }

    mutating func count(_ field: String, max: Int) throws -> Int {
        let v = try varint(field)
        guard v <= UInt64(max) else { throw fail("\(field) \(v) exceeds limit \(max)") }
        return Int(v)
    }

    mutating func u64(_ field: String) throws -> UInt64 {
        let b = try take(8, field)
        return b.reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func take(_ n: Int, _ field: String) throws -> ArraySlice<UInt8> {
        guard n <= remaining else { throw fail("truncated \(field) (\(n) bytes, \(remaining) left)") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func id(_ field: String) throws -> ObjectID { ObjectID(bytes: try take(32, field)) }

    mutating func data(_ field: String, max: Int) throws -> [UInt8] {
        let n = try count("\(field) length", max: max)
        return Array(try take(n, field))
    }

    mutating func string(_ field: String, max: Int) throws -> String {
        let b = try data(field, max: max)
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("\(field) is not UTF-8") }
        return s
    }

    mutating func bool(_ field: String) throws -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let v: throw fail("\(field) is \(v), not 0 or 1")
        }
    }

    func finish() throws {
        guard offset == bytes.count else { throw fail("\(bytes.count - offset) trailing bytes") }
    }
}
