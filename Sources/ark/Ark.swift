import ArgumentParser
import ArkCore
import ArkS3
import CArkMalloc
import Foundation
import Logging

@main
struct Ark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ark",
        abstract: "A sovereign archive: content-addressed version history, verified on every read.",
        discussion: """
            Revisions (<rev>): a full commit id, a unique hex prefix of at least 4 characters, \
            a head such as my-project (this node's head), my-project/main, my-project@peer-a, \
            or a jj change id. Append :path to name a file or directory in it.
            """,
        version: "ark 0.3.0",
        subcommands: [
            IdCommand.self, CommitCommand.self, LogCommand.self, ShowCommand.self, LsCommand.self,
            CatCommand.self, ExportCommand.self, DiffCommand.self, VerifyCommand.self, GCCommand.self, RepairCommand.self,
            OplogCommand.self, ImportCommand.self, MountCommand.self, UnmountCommand.self, RunCommand.self,
            PrefetchCommand.self,
            StatusCommand.self
        ],
        defaultSubcommand: RunCommand.self
    )

    static func main() {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = ProcessInfo.processInfo.environment["ARK_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
            return EscapingLogHandler(base: h)
        }
        ProcessSignals.resetInherited()
        // Commands that stream chunks reuse freed buffers instead of faulting in fresh pages per
        // chunk. Not the mount: its many threads would each keep free memory (peak RSS matters
        // there), and its chunk cache already reuses what it read. Best effort: only speed
        // depends on it.
        if CommandLine.arguments.dropFirst().first != "mount" { _ = ark_malloc_keep_large_buffers() }
        // Every thread may get an arena of its own, and each keeps freed memory: a commit of
        // 1 GiB to a bucket (hashing, upload and bucket-pool threads) peaked at 644-652 MB with
        // glibc's default, 270-291 MB with two arenas, at the same speed.
        _ = ark_malloc_limit_arenas(2)
        DaemonLauncher.detachIfChild()
        do {
            var command = try parseAsRoot()
            defer { S3HTTP.shutdown() }
            try command.run()
        } catch let e as ArkError {
            Terminal.err("ark: " + Terminal.escaped("\(e)"))
            Foundation.exit(e.code == .corrupt ? 3 : 1)
        } catch let e as ConfigError {
            Terminal.err("ark: " + Terminal.escaped("\(e)"))
            Foundation.exit(2)
        } catch {
            exit(withError: error)
        }
    }
}
