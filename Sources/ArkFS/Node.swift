import ArkCore

/// What an inode denotes. Content of a commit is immutable; the history browser's
/// directories (`Virtual`) change as heads move.
enum Node: Hashable, Sendable {
    /// An entry of a commit's tree (the commit's root is a directory entry).
    case entry(Entry)
    /// A directory of the history browser.
    case virtual(Virtual)
    /// A symlink of the history browser (heads, log).
    case link(target: String)
    /// A small generated text file (README.txt).
    case text(String)

    struct Entry: Hashable, Sendable {
        var commit: ObjectID
        var mtime: Int64
        var kind: Tree.Kind
        var id: ObjectID?
        var size: UInt64
        /// A symlink's target bytes (or a submodule's commit id).
        var target: [UInt8]?
        /// Stored permission bits and mtime (nil in trees without them: see `Filesystem.attributes`).
        var mode: UInt16? = nil
        var storedMtime: Tree.Timestamp? = nil
    }

    enum Virtual: Hashable, Sendable {
        case root
        case repos
        case repo(String)
        case heads(String)
        case log(String)
        case at(String)
        /// A directory of the head's tree under `versions/`, by path ([] is the root). Names are
        /// bytes, as in trees: a name that is not UTF-8 is listed here too.
        case versionsDir(repo: String, path: [FileName])
        /// `versions/<path>` of a file: every distinct content it had.
        case versionsFile(repo: String, path: [FileName])
        case commits
        case changes
    }

    var isDirectory: Bool {
        switch self {
        case .entry(let e): e.kind == .directory || e.kind == .submodule
        case .virtual: true
        case .link, .text: false
        }
    }

    /// Immutable nodes get long kernel cache lifetimes; the browser's own directories do not.
    var isImmutable: Bool {
        switch self {
        case .entry, .text: true
        case .virtual, .link: false
        }
    }
}
