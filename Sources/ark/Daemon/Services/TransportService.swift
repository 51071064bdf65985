import ArkCore
import Foundation
import ServiceLifecycle

/// Listens for peers (on the configured port, else on an ephemeral one: another ark process
/// of this store, the daemon or a mount, usually holds the port) and writes `<store>/listen_addr`.
/// On shutdown it stops the engine's background work, closes every connection and removes
/// the file.
struct TransportService: Service {
    let daemon: SyncDaemon

    func run() async throws {
        let logger = daemon.logger, config = daemon.context.config, store = daemon.context.repo.path
        if let (before, after) = OpenFileLimit.raise() {
            if after > before { logger.info("raised the open-file limit from \(before) to \(after)") }
        } else {
            logger.warning("cannot raise the open-file limit; connections may run out of descriptors")
        }
        let port: Int
        do {
            port = try await daemon.transport.listen(host: config.listenHost, port: config.listenPort)
        } catch {
            logger.warning("cannot listen on \(config.listenHost):\(config.listenPort) (\(error)); dialing out only")
            do { port = try await daemon.transport.listen(host: config.listenHost, port: 0) } catch {
                daemon.listening.publish(nil)
                await daemon.transport.shutdown()
                throw ArkError(.io, "cannot listen on \(config.listenHost): \(error)")
            }
        }
        try? Array("\(config.listenHost):\(port)\n".utf8).write(to: store + "/listen_addr")
        logger.notice("listening on \(config.listenHost):\(port) as \(daemon.context.repo.identity.endpointID.hex)")
        daemon.listening.publish(port)

        try? await gracefulShutdown()

        daemon.engine.stop()
        await daemon.transport.shutdown()
        daemon.engine.shutdown()
        try? FileManager.default.removeItem(atPath: store + "/listen_addr")
    }
}
