import ArgumentParser
import ArkCore

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show history, newest first.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Only this repo's heads (all owners).") var repo: String?
    @Option(name: .short, help: "At most this many commits.") var n: Int?
    @Argument(help: "Start from these revisions instead of heads.") var revs: [String] = []
    @Flag(help: "One line per commit.") var oneline = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let n, n < 0 { throw ValidationError("-n must not be negative") }
    }

    func run() throws {
        let ctx = try store.open()
        let heads = try ctx.repo.index.heads(repo: repo)
        if let repo, heads.isEmpty, revs.isEmpty { throw ArkError(.notFound, "repo '\(repo)' has no commits in this store") }
        let starts = revs.isEmpty ? heads.map(\.commit) : try revs.map { try ctx.resolve($0) }
        let history = try ctx.repo.index.history(from: starts, limit: n)
        var labels: [ObjectID: [String]] = [:]
        for h in heads { labels[h.commit, default: []].append(ctx.display(h.ref)) }
        if json {
            Terminal.json(history.map { CommitJSON($0, heads: labels[$0.id] ?? []) })
            return
        }
        for c in history {
            let decoration = labels[c.id].map { " (\(Terminal.escaped($0.joined(separator: ", "))))" } ?? ""
            if oneline {
                let first = c.message.split(separator: "\n").first.map(String.init) ?? ""
                Terminal.out("\(c.id.short) \(Format.time(c.committerTime, tz: c.committerTZ))\(decoration) \(Terminal.escaped(first))")
                continue
            }
            Terminal.out("commit \(c.id.hex)\(decoration)")
            if c.parents.count > 1 { Terminal.out("Merge:  \(c.parents.map(\.short).joined(separator: " "))") }
            Terminal.out("Author: \(Terminal.escaped(c.authorName)) <\(Terminal.escaped(c.authorEmail))>")
            Terminal.out("Date:   \(Format.time(c.authorTime, tz: c.authorTZ))")
            if let change = c.changeID { Terminal.out("Change: \(Terminal.escaped(change))") }
            Terminal.out("")
            for line in c.message.split(separator: "\n", omittingEmptySubsequences: false) { Terminal.out("    \(line)") }
            Terminal.out("")
        }
    }
}

struct CommitJSON: Encodable {
    var id: String
    var tree: String
    var parents: [String]
    var generation: Int64
    var author: String
    var authorEmail: String
    var authorTime: String
    var committerTime: String
    var message: String
    var changeId: String?
    var sourceId: String?
    var node: String
    var heads: [String]

    init(_ c: CommitSummary, heads: [String] = []) {
        id = c.id.hex; tree = c.tree.hex; parents = c.parents.map(\.hex); generation = c.generation
        author = c.authorName; authorEmail = c.authorEmail
        authorTime = Format.iso(c.authorTime, tz: c.authorTZ); committerTime = Format.iso(c.committerTime, tz: c.committerTZ)
        message = c.message; changeId = c.changeID; sourceId = c.sourceID; node = c.node.hex; self.heads = heads
    }
}
