import ArkCore
import Foundation
import Logging
import Synchronization

/// The sync protocol on top of authenticated peer connections: serves reconciliation, objects
/// and heads to members of shared repos, accepts and forwards signed head announcements, pulls
/// the metadata closure of announced heads (and chunks, for `full` repos), and reconciles
/// commit sets when a connection opens. Event-driven: nothing polls.
///
/// The daemon creates one engine per store, passes it to the transport as its `PeerHandler`,
/// and calls `announceLocalHeads()` whenever the index's heads may have changed.
package final class SyncEngine: PeerHandler, Sendable {
    package let repository: Repository
    package let configuration: SyncConfiguration
    let logger: Logger
    let state = Mutex(State())
    /// Single-flight per pull target: two announcements of one head never fetch and publish
    /// the same history at once; pulls of other heads, repos and peers run side by side.
    let pullFlights = KeyedSemaphore<PullKey>(limit: 1)
    /// Pulls of each writer's announced heads (`SyncConfiguration.pullsPerWriter` at a time),
    /// whoever delivered them: a member can sign only its own, so its flood fills only its lane.
    let pullLanes: KeyedSemaphore<ObjectID>
    /// Chunks queued and stored by background replication, per repo.
    let replication = ReplicationLedger()
    /// Threads for the engine's blocking work (serving requests: SQLite and pack reads), so
    /// it never blocks a cooperative thread. Started with the engine; `shutdown()` ends it.
    let blocking = BlockingPool(threadCount: 4, name: "ark-sync-io")
    /// Background work (pulls, forwarding, replication): children of one task group the
    /// engine owns; `stop()` cancels it.
    let work = BackgroundWork()
    /// The most bytes of trees and manifests a pull's walk held at once (one response, or one
    /// batch read back), over all pulls so far.
    let largestPullBatch = Mutex(0)

    enum Phase { case running, stopped }

    /// Objects of one repo that peers may be served: the closure of its heads when last
    /// computed. Its ids move to a temporary file past `ObjectIDSet.defaultMemoryLimit`, so a
    /// million-file commit does not hold a million ids in memory. One lock guards both: a
    /// refresh walks under it, and lookups wait for the walk instead of repeating it.
    final class Reach: Sendable {
        struct Closure {
            var heads: Set<ObjectID> = []
            let objects = ObjectIDSet()
        }
        let closure = Mutex(Closure())
    }

    struct ResponderSession: @unchecked Sendable {  // only moved into and out of `state` under its lock, never shared
        var session: RBSRSession<InMemoryRBSRItemStore>
    }

    struct State: ~Copyable {
        var phase = Phase.running
        var connections: [ObjectID: any PeerConnection] = [:]
        /// Hashes of announcements already processed (duplicate suppression), oldest first.
        var seenHashes: Set<[UInt8]> = []
        var seenOrder: [[UInt8]] = []
        /// The peer that first announced each head commit (the preferred source of its chunks).
        var firstAnnouncer: [ObjectID: ObjectID] = [:]
        /// Responder side of reconciliation sessions, per connection and repo.
        var responders: [String: ResponderSession] = [:]
        var reach: [String: Reach] = [:]
        /// On-demand chunk fetches (mount reads) in flight; background replication waits for 0.
        var onDemand = 0
        var onDemandIdleWaiters: [CheckedContinuation<Void, Never>] = []
        /// Peers that let a metadata request run into its deadline, and when: asked last.
        var stalled: [ObjectID: ContinuousClock.Instant] = [:]
        /// (connection, repo) pairs whose peer told us the last announcement it saw from us
        /// (`sessionPrefix + repo`); only those are sent this node's own announcements.
        var learned: Set<String> = []
        /// Connections between `connectionOpened` and `connectionClosed`. A connection's
        /// identifier is unique while anything holds it, so a late `markLearned` of a closed
        /// connection finds it gone instead of marking a later connection at the same address.
        var open: Set<ObjectIdentifier> = []
        /// Every open connection per peer, newest last: a node may hold two at once (its daemon
        /// and a command such as git-remote-ark or `ark prefetch` dialing with the same identity);
        /// when the one in `connections` closes, the other takes its place.
        var openByRemote: [ObjectID: [any PeerConnection]] = [:]
        /// Refusals of announcements beyond `maxHeadsPerWriter`, per "repo/writer", and when
        /// they were last logged (one line per writer and minute).
        var headLimitRefused: [String: Int] = [:]
        /// Announcements each peer may still deliver (see `AnnouncementBudget`).
        var announcementBudget = AnnouncementBudget()
        /// The newest accepted announcement of each head ("repo/writer/name") whose pull is
        /// waiting for its writer's lane: one waiting pull per head, however many arrive.
        var pendingPulls: [String: (announcement: HeadAnnouncement, from: ObjectID)] = [:]
        var headLimitLogged: [String: ContinuousClock.Instant] = [:]
        /// Pulls waiting to be retried, per head ("repo/writer/hex/name"): the announcement's
        /// seq, the peer that delivered it, and the timer (`SyncEngine+PullRetry`).
        var retryTimers: [String: (seq: UInt64, peer: ObjectID, task: Task<Void, Never>)] = [:]
    }

    static let maxSeenHashes = 16_384

    package init(repository: Repository, configuration: SyncConfiguration, logger: Logger = Logger(label: "ark.sync")) {
        self.repository = repository
        self.configuration = configuration
        self.logger = logger
        pullLanes = KeyedSemaphore(limit: max(1, configuration.pullsPerWriter))
        blocking.start()
        work.start()
    }

    deinit {
        work.stop()
        blocking.shutdown()
    }

    var nodeID: ObjectID { repository.identity.endpointID }

    /// Ends the engine's blocking threads once the work queued on them ran (after `stop()`
    /// and the transport's shutdown: nothing submits any more). Idempotent.
    package func shutdown() {
        stop()
        blocking.shutdown()
    }

    /// Stops background work; later events are ignored.
    package func stop() {
        state.withLock { s in s.phase = .stopped }
        cancelRetries()
        work.stop()
    }

    /// Waits until no background work (pulls, forwarding, replication) is running.
    package func waitUntilIdle() async {
        await work.waitUntilIdle()
    }

    /// Runs `body` as background work of the engine (a child of its task group).
    func spawn(_ what: String, _ body: @escaping @Sendable () async throws -> Void) {
        guard state.withLock({ s in if case .running = s.phase { true } else { false } }) else { return }
        work.submit(what, logger: logger, body)
    }

    /// The peer that first announced `commit`, if it is known.
    package func firstAnnouncer(of commit: ObjectID) -> ObjectID? {
        state.withLock { $0.firstAnnouncer[commit] }
    }

    /// Ids of the currently connected peers.
    package var connectedPeers: [ObjectID] {
        state.withLock { s in Array(s.connections.keys) }
    }

    /// Connected members of `repo`, `first` (if connected) first, excluding `except`.
    func peers(of repo: String, first: ObjectID? = nil, except: Set<ObjectID> = []) -> [any PeerConnection] {
        let members = Set(configuration.repo(repo)?.members ?? [])
        return state.withLock { s in
            var out: [any PeerConnection] = []
            if let first, let c = s.connections[first], members.contains(first), !except.contains(first) { out.append(c) }
            for (id, c) in s.connections.sorted(by: { $0.key < $1.key }) where members.contains(id) && id != first && !except.contains(id) {
                out.append(c)
            }
            return out
        }
    }

    // MARK: PeerHandler

    package func connectionOpened(_ connection: any PeerConnection) async {
        let shared = configuration.repos(sharedWith: connection.remote)
        guard !shared.isEmpty else {
            logger.warning("refusing peer \(connection.remote.short): it is not a member of any repo")
            connection.close()
            return
        }
        state.withLock { s in
            s.connections[connection.remote] = connection
            s.open.insert(ObjectIdentifier(connection))
            s.openByRemote[connection.remote, default: []].append(connection)
        }
        spawn("reconciliation with \(connection.remote.short)") { [self] in
            try await self.catchUp(repos: shared.map(\.id), with: connection)
        }
    }

    package func connectionClosed(_ connection: any PeerConnection) async {
        state.withLock { s in
            var others = s.openByRemote.removeValue(forKey: connection.remote) ?? []
            others.removeAll { $0 === connection }
            if !others.isEmpty { s.openByRemote[connection.remote] = others }
            if s.connections[connection.remote] === connection { s.connections[connection.remote] = others.last }
            let prefix = Self.sessionPrefix(connection)
            for key in s.responders.keys where key.hasPrefix(prefix) { s.responders[key] = nil }
            s.learned = s.learned.filter { !$0.hasPrefix(prefix) }
            s.open.remove(ObjectIdentifier(connection))
        }
        if state.withLock({ $0.connections[connection.remote] == nil }) { cancelRetries(from: connection.remote) }
    }

    package func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        let request: SyncRequest
        do { request = try SyncRequest(decoding: body) } catch {
            logger.warning("dropping peer \(connection.remote.short): \(error)")
            connection.close()
            throw error
        }
        return try await blocking.run { try self.serve(request, from: connection).encoded }
    }

    package func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {
        let note: SyncNotification
        do { note = try SyncNotification(decoding: body) } catch {
            logger.warning("dropping peer \(connection.remote.short): \(error)")
            connection.close()
            return
        }
        switch note {
        case .announce(let a):
            spawn("announcement from \(connection.remote.short)") { [self] in
                try await self.receive(a, from: connection)
            }
        }
    }

    static func sessionPrefix(_ c: any PeerConnection) -> String { "\(ObjectIdentifier(c).hashValue)/" }
}

extension SyncEngine {
    /// True while background work is running.
    package var isBusy: Bool { work.isBusy }
}
