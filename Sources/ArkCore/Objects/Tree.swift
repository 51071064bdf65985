/// A directory: entries sorted by name (bytewise), each a file, executable, symlink,
/// directory or submodule link.
public struct Tree: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case file = 1, executable = 2, symlink = 3, directory = 4, submodule = 5
    }

    /// A modification time: seconds since the epoch and nanoseconds (0 to 999,999,999).
    public struct Timestamp: Hashable, Sendable {
        public var seconds: Int64
        public var nanoseconds: UInt32
        public init(seconds: Int64, nanoseconds: UInt32 = 0) { self.seconds = seconds; self.nanoseconds = nanoseconds }
    }

    public struct Entry: Equatable, Sendable {
        public var name: FileName
        public var kind: Kind
        /// Manifest id (files), tree id (directories); nil for symlinks and submodules.
        public var id: ObjectID?
        /// File size, total size of a directory, or length of a symlink target.
        public var size: UInt64
        /// Symlink target (bytes, as readlink(2) returns them: any but NUL), or the linked
        /// commit id (hex ASCII) of a submodule.
        public var target: [UInt8]?
        /// Permission bits (`st_mode & 0o7777`) of a file or directory, if stored; nil in trees
        /// without them (imported from git, or written before v2): see `permissions`.
        public var mode: UInt16?
        /// Modification time, if stored (nil for trees imported from git or written before v2).
        public var mtime: Timestamp?
        /// The mode git wrote for this entry (octal ASCII such as "100664" or "040000"), kept
        /// only when it differs from `Tree.canonicalGitMode(kind)`, so the git tree it was
        /// imported from comes back exactly (tree format v2, entry flag bit 2).
        public var gitMode: String?

        public init(
            name: FileName, kind: Kind, id: ObjectID?, size: UInt64, target: [UInt8]?,
            mode: UInt16? = nil, mtime: Timestamp? = nil
        ) {
            self.name = name; self.kind = kind; self.id = id; self.size = size; self.target = target
            self.mode = mode; self.mtime = mtime
        }

        /// The target as text (a submodule's commit id; a symlink's target if it is UTF-8).
        public var targetString: String? { target.flatMap { String(validating: $0, as: UTF8.self) } }

        public static func file(_ name: FileName, manifest: ObjectID, size: UInt64, executable: Bool = false) -> Entry {
            Entry(name: name, kind: executable ? .executable : .file, id: manifest, size: size, target: nil)
        }
        public static func directory(_ name: FileName, tree: ObjectID, size: UInt64) -> Entry {
            Entry(name: name, kind: .directory, id: tree, size: size, target: nil)
        }
        public static func symlink(_ name: FileName, target: String) -> Entry { symlink(name, bytes: Array(target.utf8)) }
        public static func symlink(_ name: FileName, bytes target: [UInt8]) -> Entry {
            Entry(name: name, kind: .symlink, id: nil, size: UInt64(target.count), target: target)
        }
        public static func submodule(_ name: FileName, commit: String) -> Entry {
            Entry(name: name, kind: .submodule, id: nil, size: 0, target: Array(commit.utf8))
        }

        public var isFile: Bool { kind == .file || kind == .executable }

        /// The permission bits to present: the stored ones, else 0755 for executables and
        /// directories and 0644 for files (0777 for symlinks, as Linux shows them).
        public var permissions: UInt16 {
            if let mode { return mode }
            switch kind {
            case .file: return 0o644
            case .executable, .directory, .submodule: return 0o755
            case .symlink: return 0o777
            }
        }

        /// Whether only v2 can encode this entry: a stored mode or mtime, or a name that is not UTF-8.
        var needsV2: Bool { mode != nil || mtime != nil || gitMode != nil || !name.isUTF8 || (kind == .symlink && targetString == nil) }

        /// Names and targets compare as bytes, not as canonically equivalent Strings.
        public static func == (a: Entry, b: Entry) -> Bool {
            a.kind == b.kind && a.id == b.id && a.size == b.size && a.name == b.name && a.target == b.target
                && a.mode == b.mode && a.mtime == b.mtime && a.gitMode == b.gitMode
        }
    }

    public private(set) var entries: [Entry]

    /// Sorts entries and validates names; throws on an invalid or duplicate name.
    public init(entries: [Entry]) throws {
        let sorted = entries.sorted { $0.name < $1.name }
        for (i, e) in sorted.enumerated() {
            try Tree.validate(name: e.name)
            try Tree.validate(payloadOf: e)
            try Tree.validate(attributesOf: e)
            if i > 0 && sorted[i - 1].name == e.name { throw ArkError(.invalidArgument, "duplicate name '\(e.name)' in tree") }
        }
        self.entries = sorted
    }

    init(validatedSorted: [Entry]) { self.entries = validatedSorted }

    public var totalSize: UInt64 { entries.reduce(0) { $0 + ($1.kind == .symlink || $1.kind == .submodule ? 0 : $1.size) } }

    public func entry(named name: FileName) -> Entry? { index(named: name).map { entries[$0] } }
    public func entry(named name: String) -> Entry? { entry(named: FileName(name)) }

    /// Position of the entry `name` in `entries` (binary search).
    public func index(named name: FileName) -> Int? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].name == name { return mid }
            if entries[mid].name < name { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// The encoding this tree is written in: 2 if any entry stores a mode, mtime or git mode or
    /// has a name or symlink target that is not UTF-8, else 1 (so trees without them, such as git imports, keep their ids).
    public var formatVersion: UInt8 { entries.contains(where: \.needsV2) ? 2 : 1 }

    /// What the decoder requires of an entry's target, so no tree is stored that cannot be read back.
    static func validate(payloadOf e: Entry) throws {
        switch e.kind {
        case .file, .executable, .directory:
            guard e.id != nil else { throw ArkError(.invalidArgument, "entry '\(e.name)' has no id") }
        case .symlink:
            guard let t = e.target, !t.isEmpty, !t.contains(0), t.count <= ObjectLimits.maxSymlinkTarget else {
                throw ArkError(
                    .invalidArgument, "symlink '\(e.name)' needs a target of 1 to \(ObjectLimits.maxSymlinkTarget) bytes without NUL")
            }
        case .submodule:
            guard let t = e.targetString, !t.isEmpty, t.utf8.count <= 64, HexCodec.isHex(t) else {
                throw ArkError(.invalidArgument, "submodule '\(e.name)' needs a hex commit id of at most 64 characters")
            }
        }
    }

    public static func validate(name: FileName) throws {
        if let problem = FileName.problem(with: name.bytes) { throw ArkError(.invalidArgument, "\(problem) in tree") }
    }

    /// What v2 requires of a mode and mtime: 12 permission bits, on files and directories only,
    /// with `executable` exactly when an x bit is set; nanoseconds below one second.
    static func validate(attributesOf e: Entry) throws {
        if let problem = attributeProblem(kind: e.kind, mode: e.mode, mtime: e.mtime) ?? gitModeProblem(kind: e.kind, gitMode: e.gitMode) {
            throw ArkError(.invalidArgument, "entry '\(e.name)': \(problem)")
        }
    }

    static func attributeProblem(kind: Kind, mode: UInt16?, mtime: Timestamp?) -> String? {
        if let mode {
            if mode > 0o7777 { return "mode \(String(mode, radix: 8)) has more than 12 bits" }
            switch kind {
            case .symlink, .submodule: return "a \(kind) has no mode"
            case .file where mode & 0o111 != 0: return "file with mode \(String(mode, radix: 8)) must be executable"
            case .executable where mode & 0o111 == 0: return "executable with mode \(String(mode, radix: 8)) has no x bit"
            default: break
            }
        }
        if let mtime, mtime.nanoseconds >= 1_000_000_000 { return "mtime nanoseconds \(mtime.nanoseconds) out of range" }
        return nil
    }

    /// The mode git writes for an entry of `kind` (what `git mktree` and `git add` write).
    public static func canonicalGitMode(_ kind: Kind) -> String {
        switch kind {
        case .file: "100644"
        case .executable: "100755"
        case .symlink: "120000"
        case .directory: "40000"
        case .submodule: "160000"
        }
    }

    /// What a stored git mode must be: 1 to 7 octal digits, other than the canonical one.
    static func gitModeProblem(kind: Kind, gitMode: String?) -> String? {
        guard let g = gitMode else { return nil }
        guard (1...7).contains(g.utf8.count), g.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) else {
            return "git mode '\(g)' is not 1 to 7 octal digits"
        }
        if g == canonicalGitMode(kind) { return "git mode \(g) is the canonical one for a \(kind) (not stored)" }
        // The type bits must name the entry's kind as git reads them (and as import classifies
        // them), so a git tree written from this entry never contradicts its object's type.
        let bits = UInt32(g, radix: 8)!
        let matches: Bool =
            switch kind {
            case .file: bits & 0o170000 == 0o100000 && bits & 0o111 == 0
            case .executable: bits & 0o170000 == 0o100000 && bits & 0o111 != 0
            case .symlink: bits & 0o170000 == 0o120000
            case .directory: bits & 0o170000 == 0o040000
            case .submodule: bits & 0o170000 == 0o160000
            }
        if !matches { return "git mode \(g) does not denote a \(kind)" }
        return nil
    }
}
