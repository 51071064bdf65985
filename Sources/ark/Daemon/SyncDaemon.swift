import ArkCore
import ArkSync
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The sync daemon: accepts and dials the remotes declared in ark.toml, announces this
/// node's head changes as they happen (inotify on the index), and leaves the rest to the
/// `SyncEngine` (reconciliation on connect, gossip, pulls).
///
/// It is a set of services for one `ServiceGroup` (`services`), started in this order and
/// shut down gracefully in the reverse one: the event-loop group, the transport (listener,
/// `listen_addr`, the engine), the status socket, LAN discovery, the head watcher and the
/// dialers. A service that fails to start shuts the group down, so the ones started before
/// it are stopped in order instead of leaking.
final class SyncDaemon: Sendable {
    let context: StoreContext
    let engine: SyncEngine
    let tracker: ConnectionTracker
    let group: MultiThreadedEventLoopGroup
    let transport: PeerTransport
    /// The port the transport listens on, once it does.
    let listening = StartupValue<Int>()
    /// LAN discovery, once it runs (nil when it is off or unavailable).
    let discovery = StartupValue<LANDiscovery>()
    let started = Date()
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
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let members = Set(Self.remotes(of: context.config).keys)
        transport = PeerTransport(identity: context.repo.identity, handler: tracker, authorize: { members.contains($0) }, group: group)
    }

    /// The daemon's services, in start order.
    var services: [any Service] {
        [
            EventLoopGroupService(group: group),
            TransportService(daemon: self),
            StatusSocketService(daemon: self),
            DiscoveryService(daemon: self),
            HeadAnnounceService(daemon: self),
            DialService(daemon: self)
        ]
    }

    /// Every remote node across repos, with the addresses configured for it.
    var remotes: [ObjectID: [String]] { Self.remotes(of: context.config) }

    static func remotes(of config: ArkConfig) -> [ObjectID: [String]] {
        var out: [ObjectID: [String]] = [:]
        for r in config.repos { for p in r.remotes { out[p.nodeID, default: []].append(contentsOf: p.addrs) } }
        return out
    }
}

extension Array where Element == UInt8 {
    func write(to path: String) throws { try Data(self).write(to: URL(fileURLWithPath: path), options: .atomic) }
}
