import ArkCore
#if canImport(Glibc)
import Glibc
#endif

/// The bytes the shell passed: `CommandLine.arguments` replaces bytes that are not UTF-8 with
/// U+FFFD, which would lose a Latin-1 name typed in a `<rev>:path`.
enum RawArguments {
    /// The raw bytes of the argument that decodes to `argument`, if it held bytes that are not
    /// UTF-8; nil otherwise (then `argument` is exact).
    static func bytes(of argument: String) -> [UInt8]? {
        guard argument.unicodeScalars.contains("\u{FFFD}") else { return nil }
        for i in 1..<Int(CommandLine.argc) {
            guard let p = CommandLine.unsafeArgv[i] else { continue }
            let raw = Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
            if String(decoding: raw, as: UTF8.self) == argument { return raw }
        }
        return nil
    }

    /// The path of a `<rev>:path` argument as bytes: from the raw argument when the shell passed
    /// bytes that are not UTF-8, else `text` with its `\xNN` escapes undone.
    static func path(of spec: String, text: String) -> [UInt8] {
        if let raw = bytes(of: spec), let colon = raw.firstIndex(of: 0x3A) { return Array(raw[(colon + 1)...]) }
        return NameEscaping.unescapingBytes(text)
    }
}
