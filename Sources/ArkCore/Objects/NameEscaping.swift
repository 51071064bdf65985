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

    /// Undoes the escapes of `escaped` in a path given on the command line, so a name can be
    /// written as text output shows it: `\xNN` is the byte NN (`caf\xe9.txt`), `\n`, `\t`,
    /// `\r` and `\u00NN` (a C1 control) what they stand for, `\\` a backslash. Other text is
    /// kept as is.
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
                if let c = [UInt8(ascii: "n"): UInt8(0x0A), UInt8(ascii: "t"): 0x09, UInt8(ascii: "r"): 0x0D][u[i + 1]] {
                    out.append(c); i += 2; continue
                }
                if u[i + 1] == UInt8(ascii: "u"), i + 5 < u.count, u[i + 2] == 0x30, u[i + 3] == 0x30,
                   let v = UInt8(String(decoding: u[i + 4...i + 5], as: UTF8.self), radix: 16), (0x80...0x9F).contains(v) {
                    out += [0xC2, v]; i += 6; continue
                }
            }
            out.append(u[i]); i += 1
        }
        return out
    }
}
