import ArkCore
import Foundation

/// A directory's entries for readdir and readdirplus, made at opendir (or per readdir when the
/// kernel opens directories itself: `FuseSession.listing`) so offsets stay valid
/// across calls: position 0 is ".", 1 is "..", then the children in a stable order.
///
/// A commit's directory keeps its decoded tree and makes each child's node only when a
/// readdir reaches it: an opendir answered from the kernel's readdir cache (a warm `find`)
/// then costs nothing per entry. The browser's directories are listed at opendir.
final class DirListing: Sendable {
    private enum Children: Sendable {
        case tree(Tree, parent: Node.Entry)
        case nodes([(FileName, Node)])
    }

    /// The directory's inode.
    let ino: UInt64
    private let children: Children

    init(fs: Filesystem, ino: UInt64, node: Node) throws {
        self.ino = ino
        if case .entry(let e) = node, e.kind == .directory, let id = e.id {
            children = .tree(try fs.tree(id), parent: e)
        } else {
            children = .nodes(try fs.children(of: node))
        }
    }

    /// A commit's directory (immutable), not one of the browser's.
    var isCommitTree: Bool {
        if case .tree = children { return true }
        return false
    }

    /// Whether any child is not a directory (a file or symlink readdirplus may answer lean).
    var hasNonDirectories: Bool {
        switch children {
        case .tree(let t, _): t.entries.contains { $0.kind != .directory && $0.kind != .submodule }
        case .nodes(let n): n.contains { !$0.1.isDirectory }
        }
    }

    /// Entries including "." and "..".
    var count: Int {
        switch children {
        case .tree(let t, _): 2 + t.entries.count
        case .nodes(let n): 2 + n.count
        }
    }

    func name(at i: Int) -> FileName {
        if i < 2 { return i == 0 ? "." : ".." }
        switch children {
        case .tree(let t, _): return t.entries[i - 2].name
        case .nodes(let n): return n[i - 2].0
        }
    }

    /// The child's node; nil for "." and "..".
    func node(at i: Int, fs: Filesystem) -> Node? {
        guard i >= 2 else { return nil }
        switch children {
        case .tree(let t, let parent): return fs.entryNode(t.entries[i - 2], in: parent)
        case .nodes(let n): return n[i - 2].1
        }
    }

    /// The file type bits readdir reports (S_IFDIR, S_IFREG, S_IFLNK).
    func type(at i: Int) -> mode_t {
        guard i >= 2 else { return S_IFDIR }
        switch children {
        case .tree(let t, _):
            switch t.entries[i - 2].kind {
            case .directory, .submodule: return S_IFDIR
            case .symlink: return S_IFLNK
            case .file, .executable: return S_IFREG
            }
        case .nodes(let n):
            switch n[i - 2].1 {
            case .entry(let e): return e.kind == .symlink ? S_IFLNK : (n[i - 2].1.isDirectory ? S_IFDIR : S_IFREG)
            case .virtual: return S_IFDIR
            case .link: return S_IFLNK
            case .text: return S_IFREG
            }
        }
    }
}

/// One entry of a readdirplus reply with its lookup taken: the kernel counts it as a lookup.
struct PlusEntry {
    var ino: UInt64
    var attr: stat
    var timeout: Double
}

extension Filesystem {
    /// The entry and attributes of position `i` of a listing for readdirplus, with one kernel
    /// lookup reference taken on its inode (undo with `inodes.forget` if the reply is not
    /// sent). nil for "." and "..": the reply then carries only the name. Attributes come
    /// from the listed tree alone (a subdirectory's nlink is 1), so no entry waits for a read.
    func plusEntry(_ listing: DirListing, at i: Int) -> PlusEntry? {
        guard let node = listing.node(at: i, fs: self) else { return nil }
        let name = listing.name(at: i)
        var attr = attributes(of: node, ino: 0)
        let ino = inodes.remember(parent: listing.ino, name: name, node: node)
        attr.st_ino = UInt(ino)
        return PlusEntry(ino: ino, attr: attr, timeout: timeout(for: node))
    }
}
