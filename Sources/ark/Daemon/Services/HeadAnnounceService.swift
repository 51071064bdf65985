import ArkCore
import ServiceLifecycle

/// Announces this node's heads to connected peers: once at start, then whenever the
/// `HeadWatcher` sees the set of heads change (a commit by this or another process).
struct HeadAnnounceService: Service {
    let daemon: SyncDaemon

    func run() async throws {
        let engine = daemon.engine, repo = daemon.context.repo
        let watcher = try HeadWatcher(storePath: repo.path, heads: { try repo.index.heads() }) {
            engine.announceLocalHeadsInBackground()
        }
        watcher.start()
        _ = try? await engine.announceLocalHeads()
        try? await gracefulShutdown()
        watcher.stop()
    }
}
