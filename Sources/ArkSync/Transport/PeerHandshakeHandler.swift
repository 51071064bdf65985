import ArkCore
import Logging
import NIOCore

/// The first stage of a connection: the Noise XK handshake, the identity binding, the
/// responder's authorization (ACCEPT or REJECT, the first transport message) and the
/// handshake deadline. Whole Noise messages arrive from `NoiseFrameDecoder`. When the
/// handshake splits, it puts a `NoiseTransportCodec` with the cipher states before itself;
/// once the peer is accepted it adds the `PeerMultiplexer` after itself, hands it the proven
/// peer identity, and removes itself from the pipeline.
final class PeerHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundOut = [UInt8]

    enum Role {
        case initiator(expecting: ObjectID, established: EventLoopPromise<any PeerConnection>)
        case responder
    }

    enum Phase {
        case idle
        case handshake(NoiseHandshake)
        /// Initiator: handshake done, waiting for the responder's ACCEPT or REJECT.
        case awaitingAccept
        /// Handed over to the multiplexer, or dropped.
        case done
    }

    let identity: NodeIdentity
    let authorize: @Sendable (ObjectID) -> Bool
    let limits: TransportLimits
    let logger: Logger
    let gate: ConnectionGate
    let framing: NoiseFraming
    let traffic: PeerTraffic
    let isInitiator: Bool
    let expected: ObjectID?
    var established: EventLoopPromise<any PeerConnection>?
    /// Builds the multiplexer for a proven, accepted peer.
    let makeMultiplexer: (PeerMultiplexer.Handoff) -> PeerMultiplexer

    var context: ChannelHandlerContext?
    var phase: Phase = .idle
    var peerLabel = "unknown peer"
    /// The remote IP address (the key of per-address handshake caps and log limits).
    var address = "?"
    var handshakeTimer: Scheduled<Void>?
    /// Set when this side decides to drop the connection; reported to a pending `connect`.
    var failure: SyncError?

    init(
        role: Role, identity: NodeIdentity, authorize: @escaping @Sendable (ObjectID) -> Bool, limits: TransportLimits,
        logger: Logger, gate: ConnectionGate, framing: NoiseFraming, traffic: PeerTraffic,
        makeMultiplexer: @escaping (PeerMultiplexer.Handoff) -> PeerMultiplexer
    ) {
        self.identity = identity
        self.authorize = authorize
        self.limits = limits
        self.logger = logger
        self.gate = gate
        self.framing = framing
        self.traffic = traffic
        self.makeMultiplexer = makeMultiplexer
        switch role {
        case .initiator(let expecting, let promise):
            isInitiator = true
            expected = expecting
            established = promise
        case .responder:
            isInitiator = false
            expected = nil
        }
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        context.eventLoop.assertInEventLoop()
        guard case .idle = phase else { return }
        self.context = context
        peerLabel = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown peer"
        address = context.channel.remoteAddress?.ipAddress ?? "?"
        let seconds = limits.handshakeDeadline
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            switch phase {
            case .idle, .handshake, .awaitingAccept:
                fail(.protocolViolation("handshake not finished within \(seconds) s"))
            case .done:
                break
            }
        }
        do {
            if isInitiator, let expected {
                var handshake = try ArkNoise.initiator(identity: identity, responder: expected)
                let message1 = try handshake.writeMessage()
                phase = .handshake(handshake)
                context.writeAndFlush(wrapOutboundOut(message1), promise: nil)
            } else {
                phase = .handshake(try ArkNoise.responder(identity: identity))
            }
        } catch {
            fail(.protocolViolation("cannot start handshake: \(error)"))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.eventLoop.assertInEventLoop()
        let message = unwrapInboundIn(data)
        do {
            try handleMessage(message)
        } catch {
            fail(SyncError(wrapping: error))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? SyncError { return fail(error) }  // framing (NoiseFrameDecoder), decryption (NoiseTransportCodec)
        fail(.protocolViolation("socket error: \(error)"))
    }

    // MARK: Closing

    /// Drops the connection with one log line naming why.
    func fail(_ error: SyncError) {
        if case .done = phase { return }
        gate.logs.log(logger, .warning, key: address) { "dropping connection at \(peerLabel): \(error)" }
        failure = failure ?? error
        close()
    }

    func close() {
        context?.eventLoop.assertInEventLoop()
        if case .done = phase { return }
        context?.close(promise: nil)
        teardown()
    }

    /// Ends the handshake stage without a multiplexer; runs once, whoever closed.
    func teardown() {
        if failure == nil, established != nil, let expected {
            switch phase {
            case .handshake:
                failure = .unauthorized(
                    "\(peerLabel) closed the connection during the handshake; it is not \(expected.short) or refused us")
            case .awaitingAccept:
                failure = .unauthorized("\(expected.short) at \(peerLabel) closed the connection instead of accepting this node")
            case .idle, .done:
                break
            }
        }
        if case .done = phase {
        } else if !isInitiator, let channel = context?.channel {
            gate.handshakeEnded(channel, address: address)
        }
        phase = .done
        framing.handshaking = false
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if let promise = established {
            established = nil
            promise.fail(failure ?? SyncError.closed)
        }
    }
}
