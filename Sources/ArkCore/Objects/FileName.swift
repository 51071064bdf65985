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

    /// The form shown on a terminal: the name as is, or, when it holds a control character, a
    /// byte that is not UTF-8, `"` or `\`, in double quotes with C and octal escapes as git
    /// quotes paths (`"caf\351.txt"`). See `NameEscaping.quoted`.
    public var description: String { NameEscaping.quoted(bytes) }

    public static func < (a: FileName, b: FileName) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Why `bytes` cannot name an entry, or nil if it can.
    public static func problem(with bytes: [UInt8]) -> String? {
        if bytes.isEmpty { return "empty name" }
        if bytes.count > ObjectLimits.maxNameBytes { return "name longer than \(ObjectLimits.maxNameBytes) bytes" }
        if bytes == [0x2e] || bytes == [0x2e, 0x2e] { return "name '\(NameEscaping.quoted(bytes))' not allowed" }
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
