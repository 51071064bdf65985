import ArgumentParser
import ArkCore

struct IdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "id", abstract: "Print this node's endpoint id (its ed25519 public key).")

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let ctx = try store.open()
        let id = ctx.repo.identity.endpointID.hex
        if json { Terminal.json(["endpoint_id": id, "store": ctx.repo.path]) } else { Terminal.out(id) }
    }
}
