import ArkSync
import ServiceLifecycle

/// LAN discovery of peers ([net] discovery), advertising the transport's port. Unavailable
/// discovery is not an error: remotes are then reached through their configured addrs only.
struct DiscoveryService: Service {
    let daemon: SyncDaemon

    func run() async throws {
        let logger = daemon.logger
        guard daemon.context.config.discovery else {
            logger.info("LAN discovery is off ([net] discovery = false); remotes are reached through their addrs only")
            daemon.discovery.publish(nil)
            try? await gracefulShutdown()
            return
        }
        guard let port = await daemon.listening.value() else {
            daemon.discovery.publish(nil)
            try? await gracefulShutdown()
            return
        }
        let discovery = LANDiscovery(identity: daemon.context.repo.identity, tcpPort: port, group: daemon.group)
        do {
            try await discovery.start()
        } catch {
            logger.warning("LAN discovery unavailable (\(error)); remotes are reached through their addrs only")
            daemon.discovery.publish(nil)
            try? await gracefulShutdown()
            return
        }
        daemon.discovery.publish(discovery)
        try? await gracefulShutdown()
        await discovery.stop()
    }
}
