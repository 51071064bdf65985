/// A 32-byte BLAKE2b-256 object id, printed as 64 lowercase hex characters.
public struct ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Four words keep the id inline (no heap allocation) and make hashing and comparison cheap.
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let byteCount = 32

    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 32, "ObjectID needs 32 bytes")
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, b) in bytes.enumerated() { words[i / 8] = (words[i / 8] << 8) | UInt64(b) }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    public init(unsafeBytes p: UnsafeRawBufferPointer) {
        precondition(p.count >= 32)
        func word(_ o: Int) -> UInt64 { UInt64(bigEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        (w0, w1, w2, w3) = (word(0), word(8), word(16), word(24))
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        withBytes { src in out.withUnsafeMutableBytes { $0.copyMemory(from: src) } }
        return out
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var be = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try withUnsafeBytes(of: &be) { try body($0) }
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(64)
        for w in [w0, w1, w2, w3] {
            for shift in stride(from: 60, through: 0, by: -4) { out.append(digits[Int((w >> UInt64(shift)) & 0xf)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    /// Parses exactly 64 hex characters (either case).
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, let bytes = HexCodec.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    public static func < (a: ObjectID, b: ObjectID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

public enum HexCodec {
    public static func decode(_ s: some StringProtocol) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8](); out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo); i += 2
        }
        return out
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func isHex(_ s: some StringProtocol) -> Bool { s.utf8.allSatisfy { nibble($0) != nil } }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
