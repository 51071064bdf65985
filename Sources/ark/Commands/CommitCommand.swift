import ArgumentParser
import ArkCore
import Foundation

struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit",
        abstract: "Snapshot a directory as a new commit of a repo.",
        discussion: """
            The parent is this node's current head of the repo. Unchanged files are not read again (stat cache). If nothing changed, no commit is made unless --allow-empty.
            Names (as bytes), permission bits and modification times are stored. Files that cannot be read (permission denied, vanished) and sockets, fifos and devices are left out and listed on stderr (in --json, under "skipped"); the rest is committed and the exit status is \(CommitCommand.skippedExitCode).
            """)

    /// Exit status when the commit was made (or nothing changed) but some entries were left out.
    static let skippedExitCode: Int32 = 4

    @OptionGroup var store: StoreOptions
    @Argument(help: "Directory to snapshot.") var directory: String
    @Option(help: "Repo id.") var repo: String
    @Option(name: [.short, .long], help: "Commit message.") var message: String = ""
    @Option(help: "Author as 'Name <email>' (default: $ARK_AUTHOR or the user name).") var author: String?
    @Flag(help: "Commit even if the tree did not change.") var allowEmpty = false
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var id: String?
        var parent: String?
        var tree: String
        var size: UInt64
        var files: Int
        var filesReused: Int
        var newBytesStored: UInt64
        var created: Bool
        var skipped: [SkippedJSON] = []
    }

    struct SkippedJSON: Encodable {
        var path: String
        var pathB64: String?
        var reason: String
        init(_ s: Snapshot.Skipped) {
            let p = JSONPath(s.path)
            path = p.text; pathB64 = p.base64; reason = s.reason
        }
    }

    func run() throws {
        // Bad arguments are found before the store is opened or anything is read.
        guard ArkConfig.validRepoID(repo) else {
            throw ArkError(.invalidArgument, "'\(repo)' is not a valid repo id (letters, digits, '.', '_', '-')")
        }
        let author = try authorName()
        let dir = (directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory)
        let root = (dir as NSString).standardizingPath
        let ctx = try store.open()
        if ctx.config.file != nil && !ctx.config.repos.isEmpty && !ctx.config.repos.contains(where: { $0.id == repo }) {
            Terminal.err("ark: warning: repo '\(repo)' is not declared in \(ctx.config.file!); it will not be synced")
        }
        let session = try WriteSession(ctx.repo) { Terminal.err("ark: waiting for gc to finish...") }
        let head = HeadRef(repo: repo, owner: ctx.repo.identity.endpointID)
        let parent = try ctx.repo.index.head(head)

        let bar = ProgressLine("commit")
        var snapshot = Snapshot(session: session, root: root)
        snapshot.warn = { Terminal.err("ark: warning: \(Terminal.escaped($0))") }
        snapshot.onProgress = { p in bar.update(done: p.bytesDone, total: p.bytesTotal, extra: "\(p.filesDone)/\(p.filesTotal) files") }
        let (tree, size) = try snapshot.run()
        bar.finish()

        var output = Output(
            id: nil, parent: parent?.hex, tree: tree.hex, size: size, files: 0, filesReused: 0,
            newBytesStored: session.newBytesStored, created: false, skipped: snapshot.skipped.map(SkippedJSON.init))
        for s in snapshot.skipped where !json { Terminal.err("ark: skipped \(Terminal.escaped(s.path)): \(Terminal.escaped(s.reason))") }
        if let parent, !allowEmpty, try ctx.repo.commit(parent).tree == tree {
            try session.checkpoint()
            output.id = parent.hex
            if json {
                Terminal.json(output)
            } else {
                Terminal.err("ark: nothing changed since \(parent.short); no commit made")
                Terminal.out(parent.hex)
            }
            if !snapshot.skipped.isEmpty { throw ExitCode(Self.skippedExitCode) }
            return
        }
        let now = Int64(Date().timeIntervalSince1970)
        let sig = signature(author, time: now)
        let commit = Commit(
            tree: tree, parents: parent.map { [$0] } ?? [], author: sig, committer: sig,
            message: message, node: ctx.repo.identity.endpointID)
        let id = try session.commit(commit, head: head, expected: parent, cause: "commit \(root)")
        output.id = id.hex; output.created = true; output.newBytesStored = session.newBytesStored
        if json { Terminal.json(output) } else { Terminal.out(id.hex) }
        if !snapshot.skipped.isEmpty { throw ExitCode(Self.skippedExitCode) }
    }

    /// Name and email from --author, $ARK_AUTHOR, or the user and host names.
    private func authorName() throws -> (name: String, email: String) {
        if let spec = author ?? ProcessInfo.processInfo.environment["ARK_AUTHOR"] {
            guard let lt = spec.firstIndex(of: "<"), spec.hasSuffix(">") else {
                throw ArkError(.invalidArgument, "author '\(spec)' must look like 'Name <email>'")
            }
            let name = spec[..<lt].trimmingCharacters(in: .whitespaces)
            let email = String(spec[spec.index(after: lt)..<spec.index(before: spec.endIndex)])
            return (name, email)
        }
        let user = ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        return (user, "\(user)@\(ProcessInfo.processInfo.hostName)")
    }

    private func signature(_ who: (name: String, email: String), time: Int64) -> Commit.Signature {
        Commit.Signature(name: who.name, email: who.email, time: time, tzOffsetMinutes: Format.localOffsetMinutes(at: time))
    }
}
