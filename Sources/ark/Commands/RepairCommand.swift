import ArgumentParser
import ArkCore

struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Rebuild store metadata from the data it describes.",
        subcommands: [RepairIndexCommand.self])
}

struct RepairIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Rebuild the index from the packs: objects, the commit graph and heads.",
        discussion: """
            Reads every pack (from the bucket when [store.s3] is configured, else the store's \
            packs/ directory), records every object in it, rebuilds the commit graph from the \
            commit objects and restores heads from the newest state record. Rows the index \
            already has are kept, so it is safe to run on an index that is only partly lost. \
            Waits for running writers to finish and blocks new ones while it runs. Run \
            'ark verify' afterwards.
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var source: String
        var packs, packsScanned, objects, commits, orphanCommits, heads, recoveredTips, absentChunks: Int
        var incompletePacks, skippedHeads, damagedCommits: [String]
        var stateSequence: UInt64?
    }

    func run() throws {
        let ctx = try store.open()
        let bar = ProgressLine("repair")
        let r = try ctx.repo.repairIndex(onWait: { Terminal.err("ark: waiting for writers to finish...") }) { p in
            bar.update(done: p.bytesDone, total: p.bytesTotal, extra: "\(p.packsDone)/\(p.packsTotal) packs, \(p.objects) objects")
        }
        bar.finish()
        if json {
            Terminal.json(
                Output(
                    source: r.source, packs: r.packs, packsScanned: r.packsScanned, objects: r.objects, commits: r.commits,
                    orphanCommits: r.orphanCommits, heads: r.heads, recoveredTips: r.recoveredTips,
                    absentChunks: r.absentChunks, incompletePacks: r.incompletePacks,
                    skippedHeads: r.skippedHeads, damagedCommits: r.damagedCommits, stateSequence: r.stateSequence))
        } else {
            for p in r.incompletePacks {
                Terminal.out("warning: pack \(p) ends in bytes that are not a record; the records before them were indexed")
            }
            for c in r.damagedCommits { Terminal.out("warning: commit \(c); left out of the graph") }
            for h in r.skippedHeads { Terminal.out("warning: head \(h) names a commit in no pack; it was not restored") }
            if r.absentChunks > 0 {
                Terminal.out(
                    "\(r.absentChunks) chunk(s) that files name are in no pack: recorded as known but not stored (fetched from peers on demand)"
                )
            }
            if r.orphanCommits > 0 { Terminal.out("warning: \(r.orphanCommits) commit(s) have a parent in no pack; left out of the graph") }
            let state =
                if let s = r.stateSequence { "heads from state record \(s)" } else if r.recoveredTips > 0 {
                    "no state record: \(r.recoveredTips) tip commit(s) kept as heads recovered/<id>"
                } else { "no state record" }
            Terminal.out(
                "read \(r.packs) packs from \(r.source) (\(r.packsScanned) scanned): \(r.objects) objects and \(r.commits) commits recorded, \(r.heads) heads restored (\(state)); run 'ark verify' to check the data"
            )
        }
        // Damage found on the way: the index holds everything else; name the first problem.
        if let first = r.damagedCommits.first {
            let more = r.damagedCommits.count - 1
            throw ArkError(
                .corrupt,
                "repair index rebuilt what the packs hold, but found a damaged commit \(first)\(more > 0 ? " and \(more) more" : ""); run 'ark verify'"
            )
        }
    }
}
