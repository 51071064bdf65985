import ArkCore
import ArkFS
import ArkSync
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The sync daemon: accepts and dials the remotes declared in ark.toml, announces this
/// node's head changes as they happen (inotify on the index), and leaves the rest to the
/// `SyncEngine` (reconciliation on connect, gossip, pulls). Runs until graceful shutdown.
final class SyncService: Service, Sendable {
    let context: StoreContext
    let engine: SyncEngine
    let tracker: ConnectionTracker
    let logger = Logger(label: "ark.daemon")

    init(context: StoreContext) {
        self.context = context
        let repos = context.config.repos.map { r in
            SyncConfiguration.Repo(id: r.id, members: r.remotes.map(\.nodeID), fetch: r.fetch == .lazy ? .lazy : .full)
        }
        var cfg = SyncConfiguration(repos: repos, enumerateThreshold: context.config.enumerateThreshold)
        cfg.chunkDeadline = 10
        cfg.maxHeadsPerWriter = context.config.maxHeadsPerWriter
        engine = SyncEngine(repository: context.repo, configuration: cfg)
        tracker = ConnectionTracker(engine: engine)
    }

    /// Every remote node across repos, with the addresses configured for it.
    var remotes: [ObjectID: [String]] {
        var out: [ObjectID: [String]] = [:]
        for r in context.config.repos { for p in r.remotes { out[p.nodeID, default: []].append(contentsOf: p.addrs) } }
        return out
    }

    func run() async throws {
        if let (before, after) = OpenFileLimit.raise() {
            if after > before { logger.info("raised the open-file limit from \(before) to \(after)") }
        } else {
            logger.warning("cannot raise the open-file limit; connections may run out of descriptors")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let members = Set(remotes.keys)
        let transport = PeerTransport(identity: context.repo.identity, handler: tracker, authorize: { members.contains($0) }, group: group)
        let port: Int
        do {
            port = try await transport.listen(host: context.config.listenHost, port: context.config.listenPort)
        } catch {
            // Typically another ark process (the daemon, a mount) already listens for this store:
            // keep syncing through outbound connections on an ephemeral port.
            logger.warning("cannot listen on \(context.config.listenHost):\(context.config.listenPort) (\(error)); dialing out only")
            do { port = try await transport.listen(host: context.config.listenHost, port: 0) } catch {
                try? await group.shutdownGracefully()
                throw ArkError(.io, "cannot listen on \(context.config.listenHost): \(error)")
            }
        }
        try? Array("\(context.config.listenHost):\(port)\n".utf8).write(to: context.repo.path + "/listen_addr")
        logger.notice("listening on \(context.config.listenHost):\(port) as \(context.repo.identity.endpointID.hex)")
        let started = Date(), listen = "\(context.config.listenHost):\(port)", traffic = transport.traffic
        let statusSocket = await StatusSocket.start(store: context.repo.path, group: group, logger: logger) { [self] in
            status(traffic: traffic, listen: listen, started: started)
        }

        let discovery = LANDiscovery(identity: context.repo.identity, tcpPort: port, group: group)
        var discoveryRunning = false
        if context.config.discovery {
            do { try await discovery.start(); discoveryRunning = true } catch {
                logger.warning("LAN discovery unavailable (\(error)); remotes are reached through their addrs only")
            }
        } else {
            logger.info("LAN discovery is off ([net] discovery = false); remotes are reached through their addrs only")
        }

        let engine = self.engine
        let repo = context.repo
        let watcher = try HeadWatcher(storePath: repo.path, heads: { try repo.index.heads() }) {
            Task { try? await engine.announceLocalHeads() }
        }
        watcher.start()
        _ = try? await engine.announceLocalHeads()

        let lan: LANDiscovery? = discoveryRunning ? discovery : nil
        let tracker = self.tracker
        await withTaskGroup(of: Void.self) { tasks in
            for (node, addrs) in remotes {
                tasks.addTask { await self.dial(node, addrs: addrs, transport: transport, discovery: lan) }
            }
            tasks.addTask {
                try? await gracefulShutdown()
            }
            await tasks.next()
            tasks.cancelAll()
            tracker.releaseAll()
        }
        watcher.stop()
        engine.stop()
        await statusSocket?.stop()
        await transport.shutdown()
        if discoveryRunning { await discovery.stop() }
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: context.repo.path + "/listen_addr")
    }

    /// Keeps one connection to `node`: dials its addresses (then LAN discovery), waits while
    /// connected, and retries with exponential backoff (1 s to 60 s) while it is unreachable.
    private func dial(_ node: ObjectID, addrs: [String], transport: PeerTransport, discovery: LANDiscovery?) async {
        var backoff: Double = 1
        let name = context.config.peerName(of: node) ?? node.short
        while !Task.isCancelled {
            if tracker.isConnected(node) {
                await tracker.waitUntilDisconnected(node)
                continue
            }
            var connected = false
            for addr in addrs {
                guard let (host, port) = ArkConfig.parseHostPort(addr) else { continue }
                if (try? await transport.connect(host: host, port: port, expecting: node)) != nil { connected = true; break }
            }
            if !connected, let discovery, (try? await transport.connect(to: node, discovery: discovery, timeout: 1)) != nil {
                connected = true
            }
            if connected {
                logger.info("connected to \(name)")
                backoff = 1
                await tracker.waitUntilDisconnected(node)
                logger.info("disconnected from \(name)")
                continue
            }
            logger.debug("\(name) unreachable; retrying in \(Int(backoff)) s")
            try? await Task.sleep(nanoseconds: UInt64(backoff * 1e9))
            backoff = min(backoff * 2, 60)
        }
    }
}

extension Array where Element == UInt8 {
    func write(to path: String) throws { try Data(self).write(to: URL(fileURLWithPath: path), options: .atomic) }
}
