/// Minimal LEB128 varints for the reconciliation wire format.
enum RBSRVarint {
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func size(_ value: UInt64) -> Int {
        var v = value, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}

/// A bounds-checked cursor over a received message; every failure names what and where.
struct RBSRReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    func fail(_ message: String) -> RBSRError { .malformed("\(message) at byte \(offset)") }

    mutating func u8(_ what: String) throws -> UInt8 {
        guard offset < bytes.count else { throw fail("truncated \(what)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint(_ what: String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            let b = try u8(what)
            if shift == 63 && b > 1 { throw fail("\(what) varint overflows 64 bits") }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                if b == 0 && offset - start > 1 { throw fail("\(what) varint is not minimal") }
                return result
            }
            shift += 7
        }
    }

    mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw fail("truncated \(what): need \(n) bytes, \(remaining) left") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
}
