import ArgumentParser
import ArkCore

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a commit and what it changed against its first parent.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "Revision.") var rev: String
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var commit: CommitJSON
        var changes: [ChangeJSON]
    }

    func run() throws {
        let ctx = try store.open()
        let id = try ctx.resolve(rev)
        guard let summary = try ctx.repo.index.commit(id) else { throw ArkError(.notFound, "commit \(id) is not in the index") }
        let commit = try ctx.repo.commit(id)
        var changes: [TreeChange] = []
        let base = try commit.parents.first.map { try ctx.repo.commit($0).tree }
        try ctx.repo.diff(base, commit.tree) { changes.append($0) }
        if json {
            Terminal.json(Output(commit: CommitJSON(summary), changes: changes.map(ChangeJSON.init)))
            return
        }
        Terminal.out("commit \(id.hex)")
        Terminal.out("Tree:      \(commit.tree.hex)")
        for p in commit.parents { Terminal.out("Parent:    \(p.hex)") }
        Terminal.out(
            "Author:    \(Terminal.escaped(commit.author.name)) <\(Terminal.escaped(commit.author.email))>  \(Format.time(commit.author.time, tz: commit.author.tzOffsetMinutes))"
        )
        Terminal.out(
            "Committer: \(Terminal.escaped(commit.committer.name)) <\(Terminal.escaped(commit.committer.email))>  \(Format.time(commit.committer.time, tz: commit.committer.tzOffsetMinutes))"
        )
        if let c = commit.changeID { Terminal.out("Change:    \(Terminal.escaped(c))") }
        if let s = commit.sourceID { Terminal.out("Source:    \(Terminal.escaped(s))") }
        Terminal.out("Node:      \(Terminal.escaped(ctx.config.peerName(of: commit.node) ?? commit.node.hex))")
        Terminal.out("")
        for line in commit.message.split(separator: "\n", omittingEmptySubsequences: false) { Terminal.out("    \(line)") }
        Terminal.out("")
        for c in changes { Terminal.out("\(c.status.rawValue) \(Terminal.escaped(c.path))") }
    }
}
