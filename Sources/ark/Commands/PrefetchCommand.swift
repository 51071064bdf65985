import ArgumentParser
import ArkCore
import ArkSync
import Dispatch
import Synchronization

struct PrefetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefetch",
        abstract: "Fetch the chunks of a commit's tree (or of some paths in it) from peers ahead of time.",
        discussion: "For lazy repos: afterwards the files read without the network. Runs the sync daemon in-process while it works.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "Revision.") var rev: String
    @Argument(help: "Paths in the commit (default: the whole tree).") var paths: [String] = []
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable { var chunks: Int; var alreadyLocal: Int; var fetched: Int; var failed: Int; var bytesFetched: UInt64 }

    func run() throws {
        let ctx = try store.open()
        let commit = try ctx.repo.commit(try ctx.resolve(rev))
        let roots =
            paths.isEmpty
            ? [try ctx.repo.lookup(tree: commit.tree, path: "")] : try paths.map { try ctx.repo.lookup(tree: commit.tree, path: $0) }
        var seen = Set<ObjectID>()
        var missing: [(ObjectID, UInt64)] = []
        var total = 0
        func walk(_ root: Tree.Entry) throws {
            var pending = [root]
            while let e = pending.popLast() {
                switch e.kind {
                case .directory: pending.append(contentsOf: try ctx.repo.tree(e.id!).entries.reversed())
                case .file, .executable:
                    try FileReader(repo: ctx.repo, manifest: e.id!).forEachChunkEntry { c, _ in
                        guard seen.insert(c.id).inserted else { return }
                        total += 1
                        if try ctx.repo.index.object(c.id)?.isPresent != true { missing.append((c.id, c.length)) }
                    }
                default: break
                }
            }
        }
        for r in roots { try walk(r) }
        var out = Output(chunks: total, alreadyLocal: total - missing.count, fetched: 0, failed: 0, bytesFetched: 0)
        if !missing.isEmpty {
            let service = SyncDaemon(context: ctx)
            let host = DaemonHost(service.services, signals: true)
            host.start()
            let fetcher = ChunkFetcher(engine: service.engine)
            let bar = ProgressLine("prefetch")
            let totalBytes = missing.reduce(UInt64(0)) { $0 + $1.1 }
            let result = Mutex((fetched: 0, failed: 0, bytes: UInt64(0)))
            let done = DispatchSemaphore(value: 0)
            let work = missing
            let tracker = service.tracker
            Task { [work] in
                await fetcher.fetchAll(work, tracker: tracker) { ok, length in
                    let now = result.withLock { r in
                        if ok { r.fetched += 1; r.bytes += length } else { r.failed += 1 }
                        return r
                    }
                    bar.update(done: now.bytes, total: totalBytes, extra: "\(now.fetched + now.failed)/\(work.count) chunks")
                }
                done.signal()
            }
            done.wait()
            bar.finish()
            host.shutdown()
            try? host.wait()
            (out.fetched, out.failed, out.bytesFetched) = result.withLock { ($0.fetched, $0.failed, $0.bytes) }
        }
        if json {
            Terminal.json(out)
        } else {
            Terminal.out(
                "\(out.chunks) chunks: \(out.alreadyLocal) already local, \(out.fetched) fetched (\(Format.bytes(out.bytesFetched)))"
                    + (out.failed > 0 ? ", \(out.failed) failed" : ""))
        }
        if out.failed > 0 { throw ArkError(.missing, "\(out.failed) chunks could not be fetched from any peer") }
    }
}
