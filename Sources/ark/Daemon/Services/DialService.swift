import ArkCore
import ArkSync
import ServiceLifecycle

/// Keeps one connection to every remote of ark.toml: dials its addresses (then LAN
/// discovery), waits while connected, and retries with exponential backoff (1 s to 60 s)
/// while it is unreachable. Shutdown cancels the dialers and closes their connections.
struct DialService: Service {
    let daemon: SyncDaemon

    func run() async throws {
        guard await daemon.listening.value() != nil else {
            try? await gracefulShutdown()
            return
        }
        let lan = await daemon.discovery.value()
        let tracker = daemon.tracker
        await withTaskGroup(of: Void.self) { tasks in
            for (node, addrs) in daemon.remotes {
                tasks.addTask { await dial(node, addrs: addrs, discovery: lan) }
            }
            tasks.addTask { try? await gracefulShutdown() }
            await tasks.next()
            tasks.cancelAll()
            tracker.releaseAll()
        }
    }

    private func dial(_ node: ObjectID, addrs: [String], discovery: LANDiscovery?) async {
        let tracker = daemon.tracker, transport = daemon.transport, logger = daemon.logger
        var backoff: Double = 1
        let name = daemon.context.config.peerName(of: node) ?? node.short
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
