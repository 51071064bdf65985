/// A directory: entries sorted by name (bytewise), each a file, executable, symlink,
/// directory or submodule link.
public struct Tree: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case file = 1, executable = 2, symlink = 3, directory = 4, submodule = 5
    }

    public struct Entry: Equatable, Sendable {
        public var name: String
        public var kind: Kind
        /// Manifest id (files), tree id (directories); nil for symlinks and submodules.
        public var id: ObjectID?
        /// File size, total size of a directory, or length of a symlink target.
        public var size: UInt64
        /// Symlink target, or the linked commit id (hex) of a submodule.
        public var target: String?

        public static func file(_ name: String, manifest: ObjectID, size: UInt64, executable: Bool = false) -> Entry {
            Entry(name: name, kind: executable ? .executable : .file, id: manifest, size: size, target: nil)
        }
        public static func directory(_ name: String, tree: ObjectID, size: UInt64) -> Entry {
            Entry(name: name, kind: .directory, id: tree, size: size, target: nil)
        }
        public static func symlink(_ name: String, target: String) -> Entry {
            Entry(name: name, kind: .symlink, id: nil, size: UInt64(target.utf8.count), target: target)
        }
        public static func submodule(_ name: String, commit: String) -> Entry {
            Entry(name: name, kind: .submodule, id: nil, size: 0, target: commit)
        }

        public var isFile: Bool { kind == .file || kind == .executable }

        /// Names and targets compare as bytes (see `nameEqual`), not as canonically equivalent Strings.
        public static func == (a: Entry, b: Entry) -> Bool {
            let targetsEqual = switch (a.target, b.target) {
            case (nil, nil): true
            case let (x?, y?): Tree.nameEqual(x, y)
            default: false
            }
            return a.kind == b.kind && a.id == b.id && a.size == b.size && Tree.nameEqual(a.name, b.name) && targetsEqual
        }
    }

    public private(set) var entries: [Entry]

    /// Sorts entries and validates names; throws on an invalid or duplicate name.
    public init(entries: [Entry]) throws {
        let sorted = entries.sorted { Tree.nameLess($0.name, $1.name) }
        for (i, e) in sorted.enumerated() {
            try Tree.validate(name: e.name)
            try Tree.validate(payloadOf: e)
            if i > 0 && Tree.nameEqual(sorted[i - 1].name, e.name) { throw ArkError(.invalidArgument, "duplicate name '\(e.name)' in tree") }
        }
        self.entries = sorted
    }

    init(validatedSorted: [Entry]) { self.entries = validatedSorted }

    public var totalSize: UInt64 { entries.reduce(0) { $0 + ($1.kind == .symlink || $1.kind == .submodule ? 0 : $1.size) } }

    public func entry(named name: String) -> Entry? { index(named: name).map { entries[$0] } }

    /// Position of the entry `name` in `entries` (binary search).
    public func index(named name: String) -> Int? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Tree.nameEqual(entries[mid].name, name) { return mid }
            if Tree.nameLess(entries[mid].name, name) { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    static func nameLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
    /// Names are bytes, like file names: `String ==` would equate canonically equivalent
    /// spellings (NFC "é" and NFD "e\u{301}") that are two different files on disk.
    static func nameEqual(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// What the decoder requires of an entry's target, so no tree is stored that cannot be read back.
    static func validate(payloadOf e: Entry) throws {
        switch e.kind {
        case .file, .executable, .directory:
            guard e.id != nil else { throw ArkError(.invalidArgument, "entry '\(e.name)' has no id") }
        case .symlink:
            guard let t = e.target, !t.isEmpty, !t.utf8.contains(0), t.utf8.count <= ObjectLimits.maxSymlinkTarget else {
                throw ArkError(.invalidArgument, "symlink '\(e.name)' needs a target of 1 to \(ObjectLimits.maxSymlinkTarget) bytes without NUL")
            }
        case .submodule:
            guard let t = e.target, !t.isEmpty, t.utf8.count <= 64, HexCodec.isHex(t) else {
                throw ArkError(.invalidArgument, "submodule '\(e.name)' needs a hex commit id of at most 64 characters")
            }
        }
    }

    public static func validate(name: String) throws {
        let u = name.utf8
        guard !u.isEmpty else { throw ArkError(.invalidArgument, "empty name in tree") }
        guard u.count <= ObjectLimits.maxNameBytes else { throw ArkError(.invalidArgument, "name longer than \(ObjectLimits.maxNameBytes) bytes in tree") }
        guard name != "." && name != ".." else { throw ArkError(.invalidArgument, "name '\(name)' not allowed in tree") }
        guard !u.contains(0x2f) && !u.contains(0) else { throw ArkError(.invalidArgument, "name with '/' or NUL not allowed in tree") }
    }
}
