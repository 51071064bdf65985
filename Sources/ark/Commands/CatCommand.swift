import ArgumentParser
import ArkCore

struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Write a file of a commit to stdout, verified chunk by chunk.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "<rev>:path") var spec: String

    func run() throws {
        let ctx = try store.open()
        let (_, _, entry, path) = try ctx.resolveEntry(spec)
        switch entry.kind {
        case .file, .executable:
            try FileReader(repo: ctx.repo, entry: entry).stream { bytes in
                var b = bytes
                guard Terminal.writeAll(1, &b) else { throw ArkError(.io, "writing to stdout failed") }
            }
        case .symlink:
            throw ArkError(.invalidArgument, "'\(path)' is a symlink to '\(EntryPath(bytes: entry.target ?? []))'")
        default:
            throw ArkError(.invalidArgument, "'\(path.isEmpty ? "/" : path.description)' is a directory; use ark ls")
        }
    }
}
