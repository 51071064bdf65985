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
        var reachableObjects, removedObjects, removedCommits, packsRewritten, packsDeleted, bucketObjectsDeleted: Int
        var bytesFreed: UInt64
        var damaged: [Damage]
    }

    struct Damage: Encodable {
        var id, kind, pack, error: String
    }

    func run() throws {
        let ctx = try store.open()
        let r = try ctx.repo.gc { Terminal.err("ark: waiting for writers to finish...") }
        if json {
            Terminal.json(
                Output(
                    reachableObjects: r.reachableObjects, removedObjects: r.removedObjects, removedCommits: r.removedCommits,
                    packsRewritten: r.packsRewritten, packsDeleted: r.packsDeleted,
                    bucketObjectsDeleted: r.bucketObjectsDeleted, bytesFreed: r.bytesFreed,
                    damaged: r.damaged.map { Damage(id: $0.id.hex, kind: $0.kind.description, pack: $0.pack, error: $0.error.description) })
            )
        } else {
            Terminal.out(
                "removed \(r.removedObjects) objects and \(r.removedCommits) commits, freed \(Format.bytes(r.bytesFreed)); \(r.reachableObjects) objects kept"
                    + (r.bucketObjectsDeleted > 0 ? "; deleted \(r.bucketObjectsDeleted) objects from the bucket" : "")
            )
        }
        // Damaged live objects: their packs stay (the only copy here); gc did everything else.
        if let first = r.damaged.first {
            let packs = Set(r.damaged.map(\.pack)).count
            let more = r.damaged.count > 1 ? " and \(r.damaged.count - 1) more damaged object(s)" : ""
            throw ArkError(
                .corrupt, "gc kept \(packs) pack(s) it could not rewrite: \(first.error.message) in \(first.pack)\(more); run 'ark verify'")
        }
    }
}
