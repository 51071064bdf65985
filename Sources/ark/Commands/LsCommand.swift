import ArgumentParser
import ArkCore

struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a directory of a commit.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "<rev>[:path]") var spec: String
    @Flag(name: [.short, .long], help: "List subdirectories recursively.") var recursive = false
    @Flag(help: "Print JSON.") var json = false

    struct Item: Encodable {
        var path: String
        var pathB64: String?
        var kind: String
        var size: UInt64
        var id: String?
        var target: String?
        /// Permission bits in octal, and the mtime, where the tree stores them.
        var mode: String?
        var mtime: Int64?
        var mtimeNs: UInt32?
    }

    func run() throws {
        let ctx = try store.open()
        let (_, _, entry, path) = try ctx.resolveEntry(spec)
        var items: [Item] = []
        func emit(_ e: Tree.Entry, _ p: EntryPath) {
            if json {
                let jp = JSONPath(p)
                items.append(
                    Item(
                        path: jp.text, pathB64: jp.base64, kind: Self.kindName(e.kind), size: e.size, id: e.id?.hex,
                        target: e.target.map { String(decoding: $0, as: UTF8.self) }, mode: e.mode.map(Self.octal), mtime: e.mtime?.seconds,
                        mtimeNs: e.mtime?.nanoseconds))
            } else {
                let id = e.id?.short ?? "-"
                // A directory's slash inside the quotes of a quoted path, as one path.
                let shown = Terminal.escaped(e.kind == .directory ? p + "/" : p)
                let target = e.target.map { " -> \(Terminal.escaped(EntryPath(bytes: $0)))" } ?? ""
                Terminal.out("\(Self.modeString(e)) \(String(e.size).leftPad(12)) \(id) \(shown)\(target)")
            }
        }
        // Depth first with an explicit stack (a tree may nest directories without bound).
        func list(_ treeID: ObjectID, prefix: EntryPath) throws {
            var stack = [(entries: try ctx.repo.tree(treeID).entries[...], prefix: prefix)]
            while let top = stack.indices.last {
                guard let e = stack[top].entries.popFirst() else { stack.removeLast(); continue }
                let p = stack[top].prefix + e.name
                emit(e, p)
                if recursive, e.kind == .directory { stack.append((try ctx.repo.tree(e.id!).entries[...], p + "/")) }
            }
        }
        if entry.kind == .directory { try list(entry.id!, prefix: EntryPath()) } else { emit(entry, path) }
        if json { Terminal.json(items) }
    }

    static func kindName(_ k: Tree.Kind) -> String {
        switch k {
        case .file: "file"
        case .executable: "executable"
        case .symlink: "symlink"
        case .directory: "directory"
        case .submodule: "submodule"
        }
    }

    static func octal(_ mode: UInt16) -> String {
        let s = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// `ls -l`'s mode column: the stored permission bits, or (trees without them) read-only
    /// bits as the mount shows them.
    static func modeString(_ e: Tree.Entry) -> String {
        guard let m = e.mode else { return modeString(e.kind) }
        let type: Character = e.kind == .directory ? "d" : "-"
        func triple(_ shift: UInt16, _ special: UInt16, _ set: Character, _ setNoX: Character) -> String {
            let r: Character = m >> shift & 4 != 0 ? "r" : "-", w: Character = m >> shift & 2 != 0 ? "w" : "-"
            let x = m >> shift & 1 != 0
            let xc: Character = m & special != 0 ? (x ? set : setNoX) : (x ? "x" : "-")
            return String([r, w, xc])
        }
        return String(type) + triple(6, 0o4000, "s", "S") + triple(3, 0o2000, "s", "S") + triple(0, 0o1000, "t", "T")
    }

    static func modeString(_ k: Tree.Kind) -> String {
        switch k {
        case .file: "-r--r--r--"
        case .executable: "-r-xr-xr-x"
        case .symlink: "lrwxrwxrwx"
        case .directory: "dr-xr-xr-x"
        case .submodule: "m---------"
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
