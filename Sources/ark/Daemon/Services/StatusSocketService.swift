import ServiceLifecycle

/// Serves `<store>/daemon.sock` (see `StatusSocket`) once the transport listens.
struct StatusSocketService: Service {
    let daemon: SyncDaemon

    func run() async throws {
        guard let port = await daemon.listening.value() else {
            try? await gracefulShutdown()
            return
        }
        let daemon = self.daemon
        let listen = "\(daemon.context.config.listenHost):\(port)", traffic = daemon.transport.traffic
        let socket = await StatusSocket.start(store: daemon.context.repo.path, group: daemon.group, logger: daemon.logger) {
            daemon.status(traffic: traffic, listen: listen, started: daemon.started)
        }
        try? await gracefulShutdown()
        await socket?.stop()
    }
}
