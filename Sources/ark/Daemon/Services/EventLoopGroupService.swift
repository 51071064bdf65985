import NIOPosix
import ServiceLifecycle

/// Owns the daemon's event-loop group: first to start, last to stop, so every channel of the
/// services after it is closed before its threads end.
struct EventLoopGroupService: Service {
    let group: MultiThreadedEventLoopGroup

    func run() async throws {
        try? await gracefulShutdown()
        try? await group.shutdownGracefully()
    }
}
