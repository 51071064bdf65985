import ArkCore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// ark's peer-to-peer transport: TCP, `Noise_XK_25519_ChaChaPoly_BLAKE2b` keyed by the nodes'
/// ed25519 identities, then multiplexed, flow-controlled request streams and notifications.
///
/// Both accepted and dialled connections are delivered to `handler`; a listener admits a peer
/// only after its identity is proven and `authorize` accepts it.
package final class PeerTransport: Sendable {
    private let identity: NodeIdentity
    private let handler: any PeerHandler
    private let authorize: @Sendable (ObjectID) -> Bool
    private let group: any EventLoopGroup
    private let limits: TransportLimits
    private let logger: Logger
    private let gate: ConnectionGate
    /// Bytes in/out, connection times and addresses per peer, across reconnects.
    package let traffic = PeerTraffic()

    private struct State {
        var listeners: [any Channel] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var isShutDown = false
    }
    private let state = Mutex(State())

    package init(
        identity: NodeIdentity, handler: any PeerHandler, authorize: @escaping @Sendable (ObjectID) -> Bool,
        group: any EventLoopGroup, limits: TransportLimits = .default,
        logger: Logger = Logger(label: "ark.sync.transport")
    ) {
        self.identity = identity
        self.handler = handler
        self.authorize = authorize
        self.group = group
        self.limits = limits
        self.logger = logger
        gate = ConnectionGate(limits: limits, logger: logger)
    }

    package var endpointID: ObjectID { identity.endpointID }

    private static let waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 128 << 10, high: 512 << 10)

    /// Listens for peers; returns the bound port (pass 0 for an ephemeral one).
    package func listen(host: String, port: Int) async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: Self.waterMark)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try install(on: channel, role: .responder) }
            }
        let server = try await bootstrap.bind(host: host, port: port).get()
        let accepted = state.withLock { state -> Bool in
            guard !state.isShutDown else { return false }
            state.listeners.append(server)
            return true
        }
        guard accepted else {
            try? await server.close()
            throw SyncError.closed
        }
        guard let bound = server.localAddress?.port else { throw SyncError.closed }
        logger.debug("listening on \(host):\(bound) as \(identity.endpointID.short)")
        return bound
    }

    /// Dials `host:port` and proves that the listener is `expecting` before anything is sent.
    /// Throws `SyncError.unauthorized` when the listener is someone else or refuses this node.
    package func connect(host: String, port: Int, expecting: ObjectID) async throws -> any PeerConnection {
        let established = group.next().makePromise(of: (any PeerConnection).self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(limits.handshakeDeadline * 1000)))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.writeBufferWaterMark, value: Self.waterMark)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try install(on: channel, role: .initiator(expecting: expecting, established: established))
                }
            }
        do {
            _ = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            established.fail(error)
            throw error
        }
        return try await established.futureResult.get()
    }

    /// Closes listeners and every connection; pending requests fail with `SyncError.closed`.
    package func shutdown() async {
        let channels = state.withLock { state -> [any Channel] in
            state.isShutDown = true
            defer { state.listeners = []; state.connections = [:] }
            return state.listeners + Array(state.connections.values)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
        for channel in channels {
            try? await channel.closeFuture.get()
        }
    }

    private func install(on channel: any Channel, role: PeerHandshakeHandler.Role) throws {
        let key = ObjectIdentifier(channel)
        let admitted = state.withLock { state -> Bool in
            guard !state.isShutDown else { return false }
            state.connections[key] = channel
            return true
        }
        guard admitted else { throw SyncError.closed }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: key) }
        }
        if case .responder = role { gate.admitHandshake(channel, address: channel.remoteAddress?.ipAddress ?? "?") }
        // framing | (after the handshake) transport encryption | handshake, then multiplexer
        let framing = NoiseFraming()
        let isInitiator = if case .initiator = role { true } else { false }
        let (handler, limits, logger, gate, traffic) = (handler, limits, logger, gate, traffic)
        let handshake = PeerHandshakeHandler(
            role: role, identity: identity, authorize: authorize, limits: limits, logger: logger,
            gate: gate, framing: framing, traffic: traffic
        ) { handoff in
            PeerMultiplexer(
                handoff, isInitiator: isInitiator, handler: handler, limits: limits, logger: logger, gate: gate,
                framing: framing, traffic: traffic)
        }
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(NoiseFrameDecoder(framing: framing)), NoiseFrameEncoder(framing: framing), handshake)
    }
}
