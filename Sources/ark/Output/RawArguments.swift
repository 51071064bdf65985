import ArkCore
import Glibc

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
    /// bytes that are not UTF-8, else `text`. A path in double quotes is read as text output
    /// quotes it (`"caf\351.txt"`, see `NameEscaping.unquoted`); any other is taken literally.
    static func path(of spec: String, text: String) throws -> [UInt8] {
        var given = Array(text.utf8)
        if let raw = bytes(of: spec), let colon = raw.firstIndex(of: 0x3A) { given = Array(raw[(colon + 1)...]) }
        guard let path = NameEscaping.unquoted(given) else {
            throw ArkError(
                .invalidArgument,
                "path \(Terminal.escaped(text)) starts with '\"' but is not a well-formed quoted path (write it as ark prints it, such as \"caf\\351.txt\")"
            )
        }
        return path
    }
}
