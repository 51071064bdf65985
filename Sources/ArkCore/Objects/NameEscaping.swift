/// How names and text are shown on a terminal: names, messages and authors come from peers and
/// imported repositories, and printed raw a control sequence in one could recolor the terminal
/// or hide text. Paths and names are quoted the way git quotes paths (`quoted`, read back from
/// the command line by `unquoted`). Messages, authors and log lines are `escaped`: valid UTF-8
/// that is not a control character is kept; C0 controls and DEL print as `\x1b`, C1 controls as
/// `\u009b`, newline, tab and carriage return as `\n`, `\t`, `\r` (kept when `keepingLines`),
/// and a byte that is not UTF-8 as `\xe9`.
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

    /// A path or name as git prints one (`git ls-files` with `core.quotePath=false`), except
    /// that bytes that are not UTF-8 are escaped: kept as is unless it holds a control
    /// character (C0, DEL, or a C1 control U+0080…U+009F), a byte that is not part of valid
    /// UTF-8, a double quote or a backslash. Then the whole path is written in double quotes
    /// with C escapes: `\a \b \t \n \v \f \r \" \\`, and every other such byte as three
    /// octal digits (`caf\xe9.txt` prints as `"caf\351.txt"`, ESC as `\033`, the two bytes of
    /// a C1 control as `\302\205`). Valid UTF-8 text (`é`, `日本`) stays as is.
    public static func quoted(_ bytes: [UInt8]) -> String {
        var plain = true
        var out = "\""
        out.reserveCapacity(bytes.count + 2)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                if let c = cEscapes[b] {
                    out += "\\" + String(UnicodeScalar(c)); plain = false
                } else if b < 0x20 || b == 0x7F {
                    out += octal(b); plain = false
                } else {
                    out.unicodeScalars.append(Unicode.Scalar(b))
                }
                i += 1
                continue
            }
            let n = sequenceLength(bytes, at: i)
            if n > 0, let s = String(validating: bytes[i..<i + n], as: UTF8.self), let scalar = s.unicodeScalars.first,
                !(0x80...0x9F).contains(scalar.value)
            {
                out.unicodeScalars.append(scalar)
                i += n
                continue
            }
            // Not UTF-8, or a C1 control: every byte of it in octal.
            let count = n > 0 && String(validating: bytes[i..<i + n], as: UTF8.self) != nil ? n : 1
            for k in i..<i + count { out += octal(bytes[k]) }
            plain = false
            i += count
        }
        if plain { out.removeFirst(); return out }
        return out + "\""
    }

    /// The bytes of a path given on the command line (`rev:path`): a path that starts with a
    /// double quote is read in the form `quoted` prints (C escapes, `\351` octal, and `\xe9`
    /// hex as well), and must end with the closing quote; nil when it is not well formed. Any
    /// other path is taken literally, byte for byte.
    public static func unquoted(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.first == 0x22 else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 1
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x22 { return i == bytes.count - 1 ? out : nil }
            guard b == 0x5C else { out.append(b); i += 1; continue }
            guard i + 1 < bytes.count else { return nil }
            let e = bytes[i + 1]
            if let c = cUnescapes[e] { out.append(c); i += 2; continue }
            if (0x30...0x33).contains(e), i + 3 < bytes.count,
                let v = UInt8(String(decoding: bytes[i + 1...i + 3], as: UTF8.self), radix: 8)
            {
                out.append(v); i += 4; continue
            }
            if e == 0x78, i + 3 < bytes.count, bytes[i + 2...i + 3].allSatisfy({ isHexDigit($0) }),
                let v = UInt8(String(decoding: bytes[i + 2...i + 3], as: UTF8.self), radix: 16)
            {
                out.append(v); i += 4; continue
            }
            return nil
        }
        return nil
    }

    /// The C escapes `quoted` writes, by byte, and back.
    private static let cEscapes: [UInt8: UInt8] = [
        0x07: UInt8(ascii: "a"), 0x08: UInt8(ascii: "b"), 0x09: UInt8(ascii: "t"), 0x0A: UInt8(ascii: "n"),
        0x0B: UInt8(ascii: "v"), 0x0C: UInt8(ascii: "f"), 0x0D: UInt8(ascii: "r"), 0x22: 0x22, 0x5C: 0x5C
    ]
    private static let cUnescapes: [UInt8: UInt8] = Dictionary(uniqueKeysWithValues: cEscapes.map { ($1, $0) })

    private static func isHexDigit(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
    }

    private static func octal(_ v: UInt8) -> String {
        "\\" + String(v >> 6) + String(v >> 3 & 7) + String(v & 7)
    }
}
