import ArgumentParser
import ArkCore
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import the history of a git or jj repository into a repo.",
        discussion: """
            Every commit reachable from the source's branches (jj bookmarks), tags and HEAD becomes an \
            ark commit with the same parents, author, committer, message and jj change id; the git \
            commit id is kept as its source id, so it works as a <rev>. Branches become heads \
            <repo>/<branch>, tags <repo>/tags/<tag>, and HEAD the repo's main head. Running it again \
            imports only new commits; an interrupted import resumes where it stopped.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "A git repository (work tree or bare) or a jj repository.") var path: String
    @Option(help: "Repo id.") var repo: String
    @Option(help: ArgumentHelp("Commits per index transaction.", visibility: .hidden)) var batchCommits = 500
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard ArkConfig.validRepoID(repo) else {
            throw ValidationError("'\(repo)' is not a valid repo id (letters, digits, '.', '_', '-')")
        }
        guard batchCommits > 0 else { throw ValidationError("--batch-commits must be positive") }
    }

    func run() throws {
        let abs = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let source = (abs as NSString).standardizingPath
        let ctx = try store.open()
        if ctx.config.file != nil && !ctx.config.repos.isEmpty && !ctx.config.repos.contains(where: { $0.id == repo }) {
            Terminal.err("ark: warning: repo '\(repo)' is not declared in \(ctx.config.file!); it will not be synced")
        }
        let bar = ProgressLine("import")
        let start = Date()
        let stats = try GitImporter.run(
            into: ctx.repo, source: source, repoID: repo, onWait: { Terminal.err("ark: waiting for gc to finish...") }
        ) { importer in
            importer.batchCommits = batchCommits
            importer.warn = { Terminal.err("ark: warning: \(Terminal.escaped($0))") }
            let session = importer.session
            importer.onProgress = { s in
                bar.update(done: session.newBytesStored, total: nil, extra: "\(s.commitsImported) commits")
            }
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        if json {
            Terminal.json(Output(stats: stats, seconds: seconds))
        } else {
            Terminal.out(
                "imported \(stats.commitsImported) commits (\(stats.commitsSkipped) already present), "
                    + "\(stats.blobsConverted) files, \(stats.treesConverted) trees, \(Format.bytes(stats.newBytesStored)) new, "
                    + "\(stats.headsMoved) heads moved, \(stats.headsDeleted) deleted in \(String(format: "%.2f", seconds)) s")
        }
    }

    struct Output: Encodable {
        var stats: GitImporter.Stats
        var seconds: Double
    }
}
