import ArgumentParser
import ArkCore

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove data no head reaches.",
        discussion: "Waits for running writers to finish and blocks new ones while it runs.")

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var reachableObjects, removedObjects, removedCommits, packsRewritten, packsDeleted: Int
        var bytesFreed: UInt64
    }

    func run() throws {
        let ctx = try store.open()
        let r = try ctx.repo.gc { Terminal.err("ark: waiting for writers to finish...") }
        if json {
            Terminal.json(Output(reachableObjects: r.reachableObjects, removedObjects: r.removedObjects, removedCommits: r.removedCommits,
                                 packsRewritten: r.packsRewritten, packsDeleted: r.packsDeleted, bytesFreed: r.bytesFreed))
        } else {
            Terminal.out("removed \(r.removedObjects) objects and \(r.removedCommits) commits, freed \(Format.bytes(r.bytesFreed)); \(r.reachableObjects) objects kept")
        }
    }
}
