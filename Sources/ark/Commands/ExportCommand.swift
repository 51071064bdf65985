import ArgumentParser
import ArkCore
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Materialize a tree or file of a commit into the filesystem.",
        discussion: "The destination must not exist. Modes and symlinks are kept; mtimes are the commit time.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "<rev>[:path]") var spec: String
    @Argument(help: "Destination path (must not exist).") var destination: String

    func run() throws {
        let ctx = try store.open()
        let (_, commit, entry, _) = try ctx.resolveEntry(spec)
        let bar = ProgressLine("export")
        var done: UInt64 = 0
        try ctx.repo.export(entry, to: destination, mtime: commit.committer.time) { n in
            done += n; bar.update(done: done, total: entry.size)
        }
        bar.finish()
    }
}
