import ArkCore
import Logging
import NIOCore

/// The last stage of a connection, once its peer is proven and accepted: multiplexed request
/// streams and notifications (see `MuxFrame`), with per-stream credit, the response budget,
/// the outbound scheduler, delivery to the `PeerHandler` and closing. `PeerHandshakeHandler`
/// adds it; the plaintext of each transport message arrives from `NoiseTransportCodec` before
/// it, and it writes plaintext for the codec to encrypt.
///
/// All mutable state lives on the channel's event loop; `MuxPeerConnection` hops there.
final class PeerMultiplexer: ChannelInboundHandler, @unchecked Sendable {  // state is only touched on the channel's event loop (asserted at the entry points)
    typealias InboundIn = [UInt8]
    typealias OutboundOut = [UInt8]

    /// What the handshake hands over: the proven peer and a pending `connect`'s promise.
    struct Handoff {
        let remote: ObjectID
        /// "ip:port", for log lines and `PeerTraffic`.
        let peerLabel: String
        let established: EventLoopPromise<any PeerConnection>?
    }

    enum Phase {
        case open
        case closed
    }

    let handler: any PeerHandler
    let limits: TransportLimits
    let logger: Logger
    let gate: ConnectionGate
    let framing: NoiseFraming
    let isInitiator: Bool
    let remote: ObjectID
    let peerLabel: String
    var established: EventLoopPromise<any PeerConnection>?

    var context: ChannelHandlerContext?
    var phase: Phase = .open
    /// Where this connection's bytes are counted once it is open: the peer's totals.
    let traffic: PeerTraffic
    var countedPeer: ObjectID?
    /// Set when this side decides to drop the connection; reported to a pending `connect`.
    var failure: SyncError?

    var connection: MuxPeerConnection?
    // Delivery (see PeerMultiplexer+Delivery).
    var inbox: AsyncStream<[UInt8]>.Continuation?
    var requestInbox: AsyncStream<IncomingRequest>.Continuation?
    var delivery: Task<Void, Never>?

    // Streams and scheduling (see PeerMultiplexer+Streams, PeerMultiplexer+Scheduler).
    var streams: [UInt64: MuxStream] = [:]
    var ticketStreams: [UInt64: UInt64] = [:]
    var pending: [PendingRequest] = []
    var nextLocalID: UInt64
    var lastRemoteID: UInt64 = 0
    var localOpen = 0
    var remoteOpen = 0
    var notifyBuffer: [UInt8] = []
    var control: [MuxFrame] = []
    var notifications: [MuxFrame] = []
    var ring: [UInt64] = []
    var pumping = false
    var creditHeld = false

    // Response budget (see PeerMultiplexer+Budget).
    var waitingRequests: [WaitingRequest] = []
    var heldResponses: [UInt64: Int] = [:]
    /// Streams whose handler is still building the response. Their reservation stays held
    /// until the handler finishes, even if the peer resets the stream or the connection
    /// closes: the work goes on, so the budget must count it (a peer cannot buy more work by
    /// resetting what it asked for).
    var building: Set<UInt64> = []
    var responseHeld = 0
    /// Bytes of the peer's requests received and not yet dispatched (partial and waiting).
    var requestBytesHeld = 0
    var awaitingPeerBudget = false
    var budgetPeer: ObjectID?

    init(
        _ handoff: Handoff, isInitiator: Bool, handler: any PeerHandler, limits: TransportLimits, logger: Logger,
        gate: ConnectionGate, framing: NoiseFraming, traffic: PeerTraffic
    ) {
        remote = handoff.remote
        peerLabel = handoff.peerLabel
        established = handoff.established
        self.isInitiator = isInitiator
        self.handler = handler
        self.limits = limits
        self.logger = logger
        self.gate = gate
        self.framing = framing
        self.traffic = traffic
        nextLocalID = isInitiator ? 1 : 2
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        context.eventLoop.assertInEventLoop()
        self.context = context
        becomeOpen()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.eventLoop.assertInEventLoop()
        let plaintext = unwrapInboundIn(data)
        if case .closed = phase { return }
        do {
            try handleFrames(try MuxFrame.decodeAll(plaintext))
        } catch {
            fail(SyncError(wrapping: error))
        }
    }

    /// Frames that arrived with the ACCEPT, in the same transport message.
    func received(_ frames: [MuxFrame]) {
        do {
            try handleFrames(frames)
        } catch {
            fail(SyncError(wrapping: error))
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? SyncError { return fail(error) }  // framing (NoiseFrameDecoder), decryption (NoiseTransportCodec)
        fail(.protocolViolation("socket error: \(error)"))
    }

    /// The check behind "state is only touched on the channel's event loop", at the entry
    /// points other threads reach through `MuxPeerConnection` (debug builds).
    func assertOnEventLoop() {
        context?.eventLoop.assertInEventLoop()
    }

    // MARK: Writing

    /// Writes one transport message's plaintext (the codec encrypts it).
    func writePlaintext(_ plaintext: [UInt8]) {
        guard let context else { return }
        context.write(wrapOutboundOut(plaintext), promise: nil)
    }
}
