import ArkCore
import Foundation

/// Names, messages and authors come from peers and imported repositories: printed raw, an
/// escape sequence in one could recolor the terminal, retitle its window or hide text. Text
/// output escapes every control character instead. Paths and names are quoted as git quotes
/// paths (`escaped(_: EntryPath)`, see `NameEscaping.quoted`): `"caf\351.txt"`, `"a\nb"`.
/// Messages, authors and log lines write C0 controls and DEL as `\x1b`, C1 controls (U+0080
/// to U+009F, which some terminals obey like ESC sequences) as `\u009b`, and carriage return,
/// newline and tab as `\r`, `\n`, `\t` (newline and tab are kept where a multi-line text such
/// as a commit message is printed line by line). JSON output is not escaped here: its encoder
/// escapes control characters itself, losslessly.
extension Terminal {
    /// `s` with every control character escaped, on one line (newline and tab escaped too).
    static func escaped(_ s: String) -> String { escaped(s, keepingLines: false) }

    /// `s` with control characters escaped; with `keepingLines`, newlines and tabs stay.
    /// The escaping of `NameEscaping.escaped`, which also writes a byte that is not UTF-8 as `\xe9`.
    static func escaped(_ s: String, keepingLines: Bool) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0, keepingLines) }) else { return s }
        return NameEscaping.escaped(Array(s.utf8), keepingLines: keepingLines)
    }

    /// A path or name for text output, quoted as git quotes paths (see `NameEscaping.quoted`):
    /// the one form every command prints a path in.
    static func escaped(_ p: EntryPath) -> String { p.description }

    private static func needsEscape(_ c: Unicode.Scalar, _ keepingLines: Bool) -> Bool {
        switch c.value {
        case 0x0A, 0x09: !keepingLines
        case 0x00...0x1F, 0x7F...0x9F: true
        default: false
        }
    }
}

/// A path in `--json` output: `path` is the exact path when it is UTF-8; otherwise `path` is
/// the quoted text form (`"caf\351.txt"`, as text output prints it) and `path_b64` holds the
/// exact bytes, base64-encoded.
struct JSONPath {
    var text: String
    var base64: String?

    init(_ p: EntryPath) {
        if let s = p.string {
            text = s; base64 = nil
        } else {
            text = p.description
            base64 = Data(p.bytes).base64EncodedString()
        }
    }
}
