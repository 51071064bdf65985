/// Names, messages and authors come from peers and imported repositories: printed raw, an
/// escape sequence in one could recolor the terminal, retitle its window or hide text. Text
/// output escapes every control character instead: C0 controls and DEL as `\x1b`, C1
/// controls (U+0080 to U+009F, which some terminals obey like ESC sequences) as `\u009b`,
/// and carriage return, newline and tab as `\r`, `\n`, `\t` (newline and tab are kept where
/// a multi-line text such as a commit message is printed line by line). JSON output is not
/// escaped here: its encoder escapes control characters itself, losslessly.
extension Terminal {
    /// `s` with every control character escaped, on one line (newline and tab escaped too).
    static func escaped(_ s: String) -> String { escaped(s, keepingLines: false) }

    /// `s` with control characters escaped; with `keepingLines`, newlines and tabs stay.
    static func escaped(_ s: String, keepingLines: Bool) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0, keepingLines) }) else { return s }
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            guard needsEscape(c, keepingLines) else { out.append(c); continue }
            let text = switch c.value {
            case 0x0A: "\\n"
            case 0x09: "\\t"
            case 0x0D: "\\r"
            case 0x80...0x9F: "\\u00" + hex(c.value)
            default: "\\x" + hex(c.value)
            }
            out.append(contentsOf: text.unicodeScalars)
        }
        return String(out)
    }

    private static func needsEscape(_ c: Unicode.Scalar, _ keepingLines: Bool) -> Bool {
        switch c.value {
        case 0x0A, 0x09: !keepingLines
        case 0x00...0x1F, 0x7F...0x9F: true
        default: false
        }
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(v >> 4) & 0xF], digits[Int(v) & 0xF]])
    }
}
