import ArgumentParser
import ArkCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every object decodes and every stored chunk hashes to its id.",
        discussion:
            "Without a revision: walks from every head and also reads every object the index claims is stored. Exit status 0 when sound, 3 on corrupt or missing data."
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "Walk from this revision only.") var rev: String?
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var ok: Bool
        var commits, trees, manifests, chunks, absentChunks: Int
        /// Records whose damaged local copy was replaced by the bucket's (a failing local disk).
        var localCopiesReplaced: Int
        var bytes: UInt64
        var corrupt: [Problem]
        var missing: [Problem]
        struct Problem: Encodable { var id: String; var detail: String }
    }

    func run() throws {
        let ctx = try store.open()
        let roots = try rev.map { [try ctx.resolve($0)] } ?? ctx.repo.index.heads().map(\.commit)
        let bar = ProgressLine("verify")
        let report = try ctx.repo.verify(roots: roots, allObjects: rev == nil) { r in
            bar.update(done: r.bytes, total: nil, extra: "\(r.chunks) chunks")
        }
        bar.finish()
        var out = Output(
            ok: report.ok, commits: report.commits, trees: report.trees, manifests: report.manifests,
            chunks: report.chunks, absentChunks: report.absentChunks, localCopiesReplaced: report.localCopiesReplaced,
            bytes: report.bytes, corrupt: [], missing: [])
        for p in report.problems {
            switch p {
            case .corrupt(let id, let d): out.corrupt.append(.init(id: id.hex, detail: d))
            case .missing(let id, let d): out.missing.append(.init(id: id.hex, detail: d))
            }
        }
        if json {
            Terminal.json(out)
        } else {
            for p in out.corrupt { Terminal.out("corrupt: \(Terminal.escaped(p.detail))") }
            for p in out.missing { Terminal.out("missing: \(Terminal.escaped(p.detail))") }
            Terminal.out(
                "\(report.commits) commits, \(report.trees) trees, \(report.manifests) manifests, \(report.chunks) chunks, \(Format.bytes(report.bytes)) verified"
                    + (report.absentChunks > 0 ? ", \(report.absentChunks) chunks not stored locally" : "")
                    + (report.localCopiesReplaced > 0
                        ? ", \(report.localCopiesReplaced) records read from the bucket because their local copy was damaged (check this disk)"
                        : "")
                    + (report.ok ? ": ok" : ": \(report.corruptCount) corrupt, \(report.missingCount) missing"))
        }
        if !report.ok { throw ExitCode(3) }
    }
}
