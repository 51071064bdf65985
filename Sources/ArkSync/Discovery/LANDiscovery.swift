import ArkCore
import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Signed LAN discovery over UDP multicast. On `start` the node announces
/// `(node id, tcp port, timestamp, ed25519 signature)` once; afterwards it announces only in
/// answer to a query for its own id. There is no periodic polling: `resolve` multicasts a query
/// when a connection to a node with no known address is about to be made.
///
/// Receivers verify the signature (by the announced node's key) and that the timestamp is within
/// `freshness` of their clock and newer than the last one accepted for that node, then map the
/// node id to the datagram's source address and the announced port. An address learned this way
/// is only a hint: the Noise XK handshake still proves who answers on it.
package final class LANDiscovery: Sendable {
    package struct Configuration: Sendable {
        /// IPv4 multicast group (administratively scoped by default).
        package var groupAddress = "239.255.42.99"
        package var port = 47_100
        /// Local IPv4 address of the only interface to use; nil: every local IPv4 interface.
        package var interfaceAddress: String?
        /// Announcements further than this from the local clock are ignored.
        package var freshness: Double = 60
        /// Answers to queries are sent at most this often.
        package var minimumAnswerInterval: Double = 0.2

        package init(groupAddress: String = "239.255.42.99", port: Int = 47_100, interfaceAddress: String? = nil) {
            self.groupAddress = groupAddress
            self.port = port
            self.interfaceAddress = interfaceAddress
        }
    }

    package struct Peer: Sendable, Equatable {
        package let host: String
        package let port: Int
    }

    private struct Waiter { let id: UInt64; let continuation: CheckedContinuation<Peer?, Never> }
    private struct State {
        var channel: (any Channel)?
        /// One socket per joined interface, sending with IP_MULTICAST_IF set to it.
        var senders: [any Channel] = []
        var peers: [ObjectID: (peer: Peer, timestampMs: UInt64)] = [:]
        var waiters: [ObjectID: [Waiter]] = [:]
        var nextWaiter: UInt64 = 0
        var lastAnswer: ContinuousClock.Instant?
        var rejected = 0
    }

    private let identity: NodeIdentity
    private let tcpPort: Int
    let group: any EventLoopGroup
    package let configuration: Configuration
    let logger: Logger
    private let state = Mutex(State())

    package init(
        identity: NodeIdentity, tcpPort: Int, group: any EventLoopGroup, configuration: Configuration = .init(),
        logger: Logger = Logger(label: "ark.sync.discovery")
    ) {
        self.identity = identity
        self.tcpPort = tcpPort
        self.group = group
        self.configuration = configuration
        self.logger = logger
    }

    /// Binds the multicast port, joins the group on every IPv4 interface (or the configured one),
    /// opens one sender per joined interface, and announces this node once.
    package func start() async throws {
        let handler = LANDatagramHandler { [weak self] bytes, source in self?.receive(bytes, from: source) }
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: "0.0.0.0", port: configuration.port).get()
        var senders: [any Channel] = []
        do {
            let interfaces = try configuration.interfaceAddress.map { [$0] } ?? Self.localIPv4Addresses()
            var joined: [String] = []
            var failures: [String] = []
            for interface in interfaces {
                do { try await join(channel, on: interface); joined.append(interface) } catch {
                    failures.append("\(interface): \(error)")
                }
            }
            guard !joined.isEmpty else {
                throw DiscoveryError("cannot join \(configuration.groupAddress) on any interface (\(failures.joined(separator: "; ")))")
            }
            if !failures.isEmpty { logger.debug("not joined on \(failures.joined(separator: "; "))") }
            for interface in joined {
                do { senders.append(try await sender(on: interface)) } catch {
                    logger.debug("no multicast sender on \(interface): \(error)")
                }
            }
            guard !senders.isEmpty else { throw DiscoveryError("cannot send to \(configuration.groupAddress) on any interface") }
            logger.debug("LAN discovery on \(joined.joined(separator: ", "))")
        } catch {
            for sender in senders { try? await sender.close() }
            try? await channel.close()
            throw error
        }
        state.withLock {
            $0.channel = channel; $0.senders = senders
        }
        try await announce()
    }

    /// Leaves the group; pending `resolve` calls return nil.
    package func stop() async {
        let (channel, senders, waiters) = state.withLock { state in
            defer { state.channel = nil; state.senders = []; state.waiters = [:] }
            return (state.channel, state.senders, state.waiters.values.flatMap { $0 })
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
        for sender in senders { try? await sender.close() }
        try? await channel?.close()
    }

    /// The last verified address of `node`, if any.
    package func address(of node: ObjectID) -> Peer? {
        state.withLock { $0.peers[node]?.peer }
    }

    /// Forgets `node`'s address (for example after a failed connection) so the next `resolve` asks again.
    package func forget(_ node: ObjectID) {
        _ = state.withLock { $0.peers.removeValue(forKey: node) }
    }

    /// The known address of `node`, or the one it announces in answer to a query within `timeout` seconds.
    package func resolve(_ node: ObjectID, timeout: Double = 1) async throws -> Peer? {
        if let known = address(of: node) { return known }
        let waiterID = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withCheckedContinuation { continuation in
            let immediate = state.withLock { state -> Peer?? in
                if let known = state.peers[node]?.peer { return .some(known) }
                guard state.channel != nil else { return .some(nil) }
                state.waiters[node, default: []].append(Waiter(id: waiterID, continuation: continuation))
                return nil
            }
            if let immediate { return continuation.resume(returning: immediate) }
            send(.query(node))
            group.next().scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [weak self] in
                self?.expireWaiter(node: node, id: waiterID)
            }
        }
    }

    /// Announcements dropped since start (bad signature, stale, replayed); for diagnostics and tests.
    package var rejectedCount: Int { state.withLock { $0.rejected } }

    // MARK: Internals

    func announce() async throws {
        try await sendNow(announcement().encoded)
    }

    private func announcement() -> LANMessage {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        return .announce(LANAnnouncement(identity: identity, port: UInt16(clamping: tcpPort), timestampMs: now))
    }

    /// Multicasts `message` without waiting for the writes (from the datagram handler or a
    /// resolve): nothing outlives the channels, which complete or fail the writes themselves.
    func send(_ message: LANMessage) {
        let senders = state.withLock { $0.senders }
        guard !senders.isEmpty, let target = try? SocketAddress(ipAddress: configuration.groupAddress, port: configuration.port) else {
            return
        }
        let bytes = message.encoded
        for sender in senders {
            sender.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: sender.allocator.buffer(bytes: bytes)), promise: nil)
        }
    }

    /// Multicasts raw bytes to the group on every joined interface (tests use it to inject forged
    /// datagrams). Fails only when no interface could send.
    func sendNow(_ bytes: [UInt8]) async throws {
        let senders = state.withLock { $0.senders }
        guard !senders.isEmpty else { throw SyncError.closed }
        let target = try SocketAddress(ipAddress: configuration.groupAddress, port: configuration.port)
        var lastError: (any Error)?
        var sent = 0
        for sender in senders {
            let envelope = AddressedEnvelope(remoteAddress: target, data: sender.allocator.buffer(bytes: bytes))
            do { try await sender.writeAndFlush(envelope).get(); sent += 1 } catch { lastError = error }
        }
        if sent == 0, let lastError { throw lastError }
    }

    private func expireWaiter(node: ObjectID, id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard var list = state.waiters[node], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = list.remove(at: index)
            state.waiters[node] = list.isEmpty ? nil : list
            return waiter
        }
        waiter?.continuation.resume(returning: nil)
    }

    private func receive(_ bytes: [UInt8], from source: SocketAddress) {
        guard let message = LANMessage(decoding: bytes) else { return }
        switch message {
        case .query(let node):
            guard node == identity.endpointID else { return }
            let answer = state.withLock { state -> Bool in
                let now = ContinuousClock.now
                if let last = state.lastAnswer, now - last < .milliseconds(Int(configuration.minimumAnswerInterval * 1000)) {
                    return false
                }
                state.lastAnswer = now
                return true
            }
            if answer { send(announcement()) }
        case .announce(let announcement):
            guard announcement.node != identity.endpointID, let host = source.ipAddress else { return }
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            if let why = announcement.rejection(nowMs: now, freshnessMs: UInt64(configuration.freshness * 1000)) {
                state.withLock { $0.rejected += 1 }
                logger.notice("ignoring LAN announcement for \(announcement.node.short) from \(host): \(why)")
                return
            }
            let peer = Peer(host: host, port: Int(announcement.port))
            let waiters = state.withLock { state -> [Waiter]? in
                if let known = state.peers[announcement.node], known.timestampMs >= announcement.timestampMs {
                    if known.timestampMs > announcement.timestampMs { state.rejected += 1 }
                    return nil  // a replay or a duplicate
                }
                state.peers[announcement.node] = (peer, announcement.timestampMs)
                return state.waiters.removeValue(forKey: announcement.node) ?? []
            }
            for waiter in waiters ?? [] { waiter.continuation.resume(returning: peer) }
        }
    }
}

/// Discovery failed: a one-line reason.
package struct DiscoveryError: Error, Equatable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Hands every datagram's bytes and source to the discovery.
private final class LANDatagramHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let deliver: @Sendable ([UInt8], SocketAddress) -> Void

    init(deliver: @escaping @Sendable ([UInt8], SocketAddress) -> Void) { self.deliver = deliver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        deliver(Array(envelope.data.readableBytesView), envelope.remoteAddress)
    }
}
