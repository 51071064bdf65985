/// A name in a directory, as the kernel stores it: bytes, not text. Any bytes but `/` and NUL
/// (and not `.` or `..`) name a file, so a Latin-1 `caf\xe9.txt` is kept exactly. Names compare
/// as bytes: NFC and NFD spellings of one word are two different names.
public struct FileName: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(stringLiteral value: String) { self.init(value) }

    /// The name as text, if its bytes are UTF-8.
    public var string: String? { String(validating: bytes, as: UTF8.self) }
    /// The name as text, with bytes that are not UTF-8 replaced (U+FFFD): for lookups of
    /// names that are UTF-8 only, never for display or storage.
    public var lossyString: String { String(decoding: bytes, as: UTF8.self) }
    public var isUTF8: Bool { string != nil }

    /// The escaped form: one line, every control character and every byte that is not UTF-8
    /// written as `\xNN` (newline, tab and carriage return as `\n`, `\t`, `\r`; C1 controls as
    /// `\u0080`…`\u009f`), and a backslash as itself. See `NameEscaping`.
    public var description: String { NameEscaping.escaped(bytes) }

    public static func < (a: FileName, b: FileName) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Why `bytes` cannot name an entry, or nil if it can.
    public static func problem(with bytes: [UInt8]) -> String? {
        if bytes.isEmpty { return "empty name" }
        if bytes.count > ObjectLimits.maxNameBytes { return "name longer than \(ObjectLimits.maxNameBytes) bytes" }
        if bytes == [0x2e] || bytes == [0x2e, 0x2e] { return "name '\(NameEscaping.escaped(bytes))' not allowed" }
        if bytes.contains(0x2f) || bytes.contains(0) { return "name with '/' or NUL not allowed" }
        return nil
    }

    /// Calls `body` with the name as a NUL-terminated C string (copied on the stack, as
    /// readdir calls it once per entry).
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try Self.withCString(bytes, body)
    }

    /// `bytes` and a NUL, in a temporary buffer, for a system call.
    public static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buf in
            bytes.withUnsafeBytes { src in
                if let base = src.baseAddress { UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: base, byteCount: src.count) }
            }
            buf[bytes.count] = 0
            return try body(buf.baseAddress!)
        }
    }

    /// The name in a NUL-terminated C string (readdir's `d_name`, a FUSE lookup).
    public init(cString p: UnsafePointer<CChar>) {
        self.bytes = Array(UnsafeRawBufferPointer(start: p, count: strlenBytes(p)))
    }
}

private func strlenBytes(_ p: UnsafePointer<CChar>) -> Int {
    var n = 0
    while p[n] != 0 { n += 1 }
    return n
}

/// One escaping for names and text shown on a terminal: names, messages and authors come from
/// peers and imported repositories, and printed raw a control sequence in one could recolor the
/// terminal or hide text. Valid UTF-8 that is not a control character is kept; C0 controls and
/// DEL print as `\x1b`, C1 controls as `\u009b`, newline, tab and carriage return as `\n`, `\t`,
/// `\r` (kept when `keepingLines`), and a byte that is not UTF-8 as `\xe9`.
public enum NameEscaping {
    public static func escaped(_ bytes: [UInt8], keepingLines: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                switch b {
                case 0x0A where !keepingLines: out += "\\n"
                case 0x09 where !keepingLines: out += "\\t"
                case 0x0D: out += "\\r"
                case 0x0A, 0x09: out.unicodeScalars.append(Unicode.Scalar(b))
                case 0x00...0x1F, 0x7F: out += "\\x" + hex(b)
                default: out.unicodeScalars.append(Unicode.Scalar(b))
                }
                i += 1
                continue
            }
            let n = sequenceLength(bytes, at: i)
            guard n > 0, let s = String(validating: bytes[i..<i + n], as: UTF8.self), let scalar = s.unicodeScalars.first else {
                out += "\\x" + hex(b); i += 1; continue
            }
            if (0x80...0x9F).contains(scalar.value) { out += "\\u00" + hex(UInt8(scalar.value)) } else { out.unicodeScalars.append(scalar) }
            i += n
        }
        return out
    }

    /// The length of the UTF-8 sequence a lead byte announces, if the bytes are there.
    private static func sequenceLength(_ bytes: [UInt8], at i: Int) -> Int {
        let b = bytes[i]
        let n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 0
        return n > 0 && i + n <= bytes.count && b < 0xF5 ? n : 0
    }

    private static func hex(_ v: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(v >> 4)], digits[Int(v & 0xF)]])
    }

    /// Undoes the `\xNN` escape in a path given on the command line, so a name that is not
    /// UTF-8 can be written (`caf\xe9.txt`); `\\` is a backslash. Other text is kept as is.
    public static func unescapingBytes(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            if u[i] == 0x5C, i + 1 < u.count {
                if u[i + 1] == 0x5C { out.append(0x5C); i += 2; continue }
                if u[i + 1] == 0x78, i + 3 < u.count, let v = UInt8(String(decoding: u[i + 2...i + 3], as: UTF8.self), radix: 16) {
                    out.append(v); i += 4; continue
                }
            }
            out.append(u[i]); i += 1
        }
        return out
    }
}
