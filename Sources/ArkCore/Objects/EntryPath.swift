/// A path below a tree's root, `/`-separated, as bytes: its names may be any bytes (`FileName`).
package struct EntryPath: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    package var bytes: [UInt8]

    package init() { self.bytes = [] }
    package init(bytes: some Sequence<UInt8>) { self.bytes = Array(bytes) }
    package init(_ string: String) { self.bytes = Array(string.utf8) }
    package init(stringLiteral value: String) { self.init(value) }

    package var isEmpty: Bool { bytes.isEmpty }
    package var string: String? { String(validating: bytes, as: UTF8.self) }
    /// The one-line form for terminals and messages, quoted as git quotes paths when it holds a
    /// control character, a byte that is not UTF-8, `"` or `\` (see `NameEscaping.quoted`).
    package var description: String { NameEscaping.quoted(bytes) }

    /// The names along the path, empty components and `.` dropped.
    package var components: [FileName] {
        bytes.split(separator: 0x2f, omittingEmptySubsequences: true).filter { $0.elementsEqual([0x2e]) == false }.map {
            FileName(bytes: $0)
        }
    }

    package static func + (a: EntryPath, b: FileName) -> EntryPath { EntryPath(bytes: a.bytes + b.bytes) }
    package static func + (a: EntryPath, b: String) -> EntryPath { EntryPath(bytes: a.bytes + Array(b.utf8)) }
    package static func < (a: EntryPath, b: EntryPath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
    package func hasSuffix(_ s: String) -> Bool { bytes.count >= s.utf8.count && bytes.suffix(s.utf8.count).elementsEqual(s.utf8) }
}
