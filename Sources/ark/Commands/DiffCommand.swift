import ArgumentParser
import ArkCore

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract:
            "List paths added (A), removed (D), modified (M), changed in type (T) or in permissions only (P) from one revision to another.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "Old revision.") var a: String
    @Argument(help: "New revision.") var b: String
    @Flag(help: "Print JSON lines, one change per line.") var json = false

    func run() throws {
        let ctx = try store.open()
        let ta = try ctx.repo.commit(try ctx.resolve(a)).tree
        let tb = try ctx.repo.commit(try ctx.resolve(b)).tree
        try ctx.repo.diff(ta, tb) { c in
            if json { Terminal.json(ChangeJSON(c)) } else { Terminal.out("\(c.status.rawValue) \(Terminal.escaped(c.path))") }
        }
    }
}

struct ChangeJSON: Encodable {
    var status: String
    var path: String
    var pathB64: String?
    var oldId: String?
    var newId: String?
    var oldMode: String?
    var newMode: String?

    init(_ c: TreeChange) {
        let p = JSONPath(c.path)
        status = c.status.rawValue; path = p.text; pathB64 = p.base64; oldId = c.old?.id?.hex; newId = c.new?.id?.hex
        if c.status == .permissions {
            oldMode = c.old.map { LsCommand.octal($0.permissions) }; newMode = c.new.map { LsCommand.octal($0.permissions) }
        }
    }
}
