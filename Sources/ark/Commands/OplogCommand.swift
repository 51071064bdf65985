import ArgumentParser
import ArkCore

struct OplogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oplog", abstract: "Show the operation log: every head change, newest first.")

    @OptionGroup var store: StoreOptions
    @Option(name: .short, help: "At most this many entries.") var n: Int?
    @Flag(help: "Print JSON.") var json = false

    struct Entry: Encodable {
        var seq: Int64
        var time: String
        var head: String
        var old: String?
        var new: String?
        var actor: String
        var cause: String
    }

    func run() throws {
        let ctx = try store.open()
        let entries = try ctx.repo.index.oplog(limit: n).map { e in
            Entry(
                seq: e.seq, time: Format.iso(e.time, tz: 0), head: ctx.display(e.ref), old: e.old?.hex, new: e.new?.hex,
                actor: e.actor == ctx.repo.identity.endpointID ? "self" : (ctx.config.peerName(of: e.actor) ?? e.actor.hex), cause: e.cause)
        }
        if json { Terminal.json(entries); return }
        for e in entries {
            let old = e.old.map { String($0.prefix(12)) } ?? "(none)"
            let new = e.new.map { String($0.prefix(12)) } ?? "(deleted)"
            Terminal.out(
                "\(String(e.seq).leftPad(5)) \(e.time) \(Terminal.escaped(e.head)) \(old) -> \(new) by \(Terminal.escaped(e.actor)): \(Terminal.escaped(e.cause))"
            )
        }
    }
}
