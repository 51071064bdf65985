import ArgumentParser
import ArkCore
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the sync daemon (also what 'ark' with no subcommand does).",
        discussion:
            "Keeps the repos of ark.toml in sync with their remotes: listens on [net] listen, dials every remote, announces new heads as they are committed. Imports new commits of each repo's source (a git or jj repository) as they are made. SIGTERM/SIGINT stop it cleanly."
    )

    @OptionGroup var store: StoreOptions

    func run() throws {
        let ctx = try store.open()
        let sources = ctx.config.sources.count
        if ctx.config.repos.allSatisfy({ $0.remotes.isEmpty }) {
            if sources == 0 {
                Terminal.err(
                    "ark: warning: no repo in \(ctx.config.file ?? "the configuration") declares a remote or a source; nothing to sync or watch"
                )
            } else {
                Terminal.err(
                    "ark: no repo in \(ctx.config.file ?? "the configuration") declares a remote; watching \(sources) source(s) only")
            }
        }
        var services: [any Service] = SyncDaemon(context: ctx).services
        if sources > 0 { services.append(SourceWatchService(context: ctx)) }
        Terminal.err(
            "ark: node \(ctx.repo.identity.endpointID.hex) syncing \(ctx.config.repos.count) repo(s)"
                + (sources > 0 ? ", watching \(sources) source(s)" : ""))
        try DaemonHost.run(services, signals: true)
    }
}

/// Runs services in one swift-service-lifecycle `ServiceGroup` from a synchronous command,
/// until they end (graceful shutdown on SIGTERM/SIGINT when `signals`, or `shutdown()` from
/// elsewhere). They start in the given order and stop in the reverse one; a service that
/// ends or fails shuts the others down gracefully, in that reverse order.
final class DaemonHost: Sendable {
    private let group: ServiceGroup
    private let done = DispatchSemaphore(value: 0)
    private let failure = ErrorBox()

    init(_ services: [any Service], signals: Bool) {
        let configured = services.map {
            ServiceGroupConfiguration.ServiceConfiguration(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        var config = ServiceGroupConfiguration(services: configured, logger: Logger(label: "ark.services"))
        config.gracefulShutdownSignals = signals ? [.sigterm, .sigint] : []
        group = ServiceGroup(configuration: config)
    }

    func start() {
        Task { [group, done, failure] in
            do { try await group.run() } catch {
                // Say so at once: a mount keeps serving local data without sync.
                Terminal.err("ark: sync daemon stopped: \(error)")
                failure.set(error)
            }
            done.signal()
        }
    }

    func shutdown() {
        Task { [group] in await group.triggerGracefulShutdown() }
    }

    /// Waits for the services to end; rethrows the first failure.
    func wait() throws {
        done.wait()
        if let e = failure.get() { throw e }
    }

    static func run(_ services: [any Service], signals: Bool) throws {
        let host = DaemonHost(services, signals: signals)
        host.start()
        try host.wait()
    }
}

final class ErrorBox: Sendable {
    private let value = Mutex<Error?>(nil)
    func set(_ e: Error) { value.withLock { if $0 == nil { $0 = e } } }
    func get() -> Error? { value.withLock { $0 } }
}
