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
        var kind: String
        var size: UInt64
        var id: String?
        var target: String?
    }

    func run() throws {
        let ctx = try store.open()
        let (_, _, entry, path) = try ctx.resolveEntry(spec)
        var items: [Item] = []
        func emit(_ e: Tree.Entry, _ p: String) {
            let item = Item(path: p, kind: Self.kindName(e.kind), size: e.size, id: e.id?.hex, target: e.target)
            if json { items.append(item) } else {
                let id = e.id?.short ?? "-"
                let suffix = e.kind == .directory ? "/" : e.target.map { " -> \(Terminal.escaped($0))" } ?? ""
                Terminal.out("\(Self.modeString(e.kind)) \(String(e.size).leftPad(12)) \(id) \(Terminal.escaped(p))\(suffix)")
            }
        }
        // Depth first with an explicit stack (a tree may nest directories without bound).
        func list(_ treeID: ObjectID, prefix: String) throws {
            var stack = [(entries: try ctx.repo.tree(treeID).entries[...], prefix: prefix)]
            while let top = stack.indices.last {
                guard let e = stack[top].entries.popFirst() else { stack.removeLast(); continue }
                let p = stack[top].prefix + e.name
                emit(e, p)
                if recursive, e.kind == .directory { stack.append((try ctx.repo.tree(e.id!).entries[...], p + "/")) }
            }
        }
        if entry.kind == .directory { try list(entry.id!, prefix: "") } else { emit(entry, path) }
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
