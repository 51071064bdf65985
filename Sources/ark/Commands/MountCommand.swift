import ArgumentParser
import ArkCore
import ArkFS
import ArkSync
import Foundation
import Glibc
import ServiceLifecycle

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount a commit (or, without a revision, the whole history) read-only.",
        discussion: """
            ark mount <rev> <mountpoint>  the commit's tree (history under hidden .ark/)
            ark mount <mountpoint>        the history browser: repos/, commits/, changes/
            Runs in the foreground until SIGINT/SIGTERM or 'ark unmount'; --daemon returns once \
            the mount is serving.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "[<rev>] <mountpoint>") var arguments: [String]
    @Flag(help: "Detach once the mount is serving.") var daemon = false
    @Flag(name: .customLong("allow-other"), help: "Let other users read the mount (needs user_allow_other in /etc/fuse.conf for non-root).")
    var allowOther = false

    func validate() throws {
        guard (1...2).contains(arguments.count) else { throw ValidationError("expected [<rev>] <mountpoint>") }
    }

    func run() throws {
        let mountpoint = MountTable.absolute(arguments.last!)
        let rev = arguments.count == 2 ? arguments[0] : nil
        // With --daemon, the child does every check and reports failures through its stderr,
        // so the store is opened once (mount-ready time).
        if daemon, try DaemonLauncher.launch() == .parent { return }
        let ctx = try store.open()
        try MountPreflight.check(mountpoint: mountpoint, store: ctx.repo.path)
        let root: Filesystem.Root = try rev.map { .commit(try ctx.resolve($0)) } ?? .history
        try serve(ctx: ctx, root: root, mountpoint: mountpoint, rev: rev)
    }

    private func serve(ctx: StoreContext, root: Filesystem.Root, mountpoint: String, rev: String?) throws {
        var options = Filesystem.Options()
        options.cacheSize = ctx.config.mountCacheSize(bucket: ctx.repo.packStorage != nil)
        // Loads from the bucket wait on ranged GETs: 8 in flight read a cold file at 161-165
        // MB/s against 139-147 with 4 (docs/benchmarks.md, "Lean listings ...").
        if ctx.repo.packStorage != nil { options.loadThreads = 8 }
        options.uid = getuid()
        options.gid = getgid()
        options.declaredRepos = ctx.config.repos.map(\.id)
        var names: [ObjectID: String] = [:]
        for (name, id) in ctx.config.peerNames { names[id] = name }
        let local = LocalObjectSource(repo: ctx.repo, peerNames: names)
        // The sync daemon runs in this process too (FUSE + sync), when any repo has remotes.
        let syncing = ctx.config.repos.contains { !$0.remotes.isEmpty }
        let sync = syncing ? SyncDaemon(context: ctx) : nil
        var mounted: ObjectID? { if case .commit(let id) = root { id } else { nil } }
        let source: ObjectSource =
            sync.map {
                SyncedObjectSource(
                    local: local, fetcher: ChunkFetcher(engine: $0.engine), tracker: $0.tracker,
                    mountedCommit: mounted, cacheLimit: ctx.config.cacheLimit)
            } ?? local
        let fs = try Filesystem(source: source, root: root, options: options)
        // New commits of the repos' sources are imported while mounted (and appear under heads/).
        var services: [any Service] = sync?.services ?? []
        if !ctx.config.sources.isEmpty { services.append(SourceWatchService(context: ctx)) }
        let daemon = services.isEmpty ? nil : DaemonHost(services, signals: false)  // libfuse owns SIGINT/SIGTERM here
        daemon?.start()
        defer {
            daemon?.shutdown()
            try? daemon?.wait()
        }
        let session = FuseSession(fs: fs, mountpoint: mountpoint, fsname: "ark:\(rev ?? "history")", allowOther: allowOther) {
            DispatchQueue.global().async {
                MountTuning.raiseReadAhead(mountpoint: mountpoint)
                DaemonLauncher.signalReady()
                SystemdNotify.send("READY=1")
            }
        }
        let repo = ctx.repo
        let watcher = try HeadWatcher(storePath: repo.path, heads: { try repo.index.heads() }) { session.invalidateMutable() }
        watcher.start()
        // Bounded here too: when the join below gave up on a watcher blocked in the kernel, an
        // unbounded wait on the way out would hang the exit it meant to avoid.
        defer { watcher.stop(timeout: 1) }
        // The watcher is stopped and joined before the session is freed (it notifies through
        // it). A notification blocked in the kernel for seconds (requests left unanswered by a
        // loop ended with SIGTERM) must not hang the exit: then the session is not freed.
        try session.run(beforeDestroy: { watcher.stop(timeout: 5) })
        SystemdNotify.send("STOPPING=1")
    }
}

/// Kernel read-ahead for the mount's backing device (root only; best effort). The default
/// is 128 KiB. 8 MiB lets a sequential reader keep eight 1 MiB requests in flight, so the
/// mount copies replies into the page cache on every core at once instead of one request
/// at a time (docs/benchmarks-archive.md: 1.1-1.9x a cold sequential read against 1 MiB). Random
/// reads are unaffected (the kernel starts them at 16 KiB); a page fault in a memory-mapped
/// file reads up to that window around it, as on a disk set to the same read-ahead.
enum MountTuning {
    static let readAheadKiB = 8192

    static func raiseReadAhead(mountpoint: String) {
        guard let m = MountTable.entry(at: mountpoint) else { return }
        let path = "/sys/class/bdi/\(m.major):\(m.minor)/read_ahead_kb"
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let value = Array(String(readAheadKiB).utf8)
        _ = value.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }
}
