import ArkCore
import Logging
import NIOCore

/// One TCP connection: Noise XK handshake, authorization, then multiplexed request streams and
/// notifications over Noise transport messages (see `MuxFrame`). Whole Noise messages arrive
/// from the `NoiseFrameDecoder` before it in the pipeline.
///
/// All mutable state lives on the channel's event loop; `MuxPeerConnection` hops there.
final class PeerSession: ChannelInboundHandler, @unchecked Sendable { // state is only touched on the channel's event loop
    typealias InboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    enum Role {
        case initiator(expecting: ObjectID, established: EventLoopPromise<any PeerConnection>)
        case responder
    }

    enum Phase {
        case idle
        case handshake(NoiseHandshake)
        /// Initiator: handshake done, waiting for the responder's ACCEPT or REJECT.
        case awaitingAccept
        case open
        case closed
    }

    let identity: NodeIdentity
    let handler: any PeerHandler
    let authorize: @Sendable (ObjectID) -> Bool
    let limits: TransportLimits
    let logger: Logger
    let gate: ConnectionGate
    let isInitiator: Bool
    let expected: ObjectID?
    var established: EventLoopPromise<any PeerConnection>?

    var context: ChannelHandlerContext?
    var phase: Phase = .idle
    var transport: NoiseTransport?
    var peerLabel = "unknown peer"
    /// The remote IP address (the key of per-address handshake caps and log limits).
    var address = "?"
    var handshakeTimer: Scheduled<Void>?
    /// Where this connection's bytes are counted: its own counters until the peer is proven,
    /// then the peer's totals in `traffic`.
    let traffic: PeerTraffic
    var counters = PeerCounters()
    var countedPeer: ObjectID?
    /// Set when this side decides to drop the connection; reported to a pending `connect`.
    var failure: SyncError?

    var connection: MuxPeerConnection?
    var inbox: AsyncStream<[UInt8]>.Continuation?
    var opened: Task<Void, Never>?

    // Streams and scheduling (see PeerSession+Streams, PeerSession+Scheduler).
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

    // Response budget (see PeerSession+Budget).
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

    init(role: Role, identity: NodeIdentity, handler: any PeerHandler, authorize: @escaping @Sendable (ObjectID) -> Bool,
         limits: TransportLimits, logger: Logger, gate: ConnectionGate, traffic: PeerTraffic = PeerTraffic()) {
        self.identity = identity
        self.traffic = traffic
        self.handler = handler
        self.authorize = authorize
        self.limits = limits
        self.logger = logger
        self.gate = gate
        switch role {
        case .initiator(let expecting, let promise):
            isInitiator = true
            expected = expecting
            established = promise
        case .responder:
            isInitiator = false
            expected = nil
        }
        nextLocalID = isInitiator ? 1 : 2
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
        guard case .idle = phase else { return }
        self.context = context
        peerLabel = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown peer"
        address = context.channel.remoteAddress?.ipAddress ?? "?"
        let seconds = limits.handshakeDeadline
        handshakeTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            switch phase {
            case .idle, .handshake, .awaitingAccept:
                fail(.protocolViolation("handshake not finished within \(seconds) s"))
            case .open, .closed:
                break
            }
        }
        do {
            if isInitiator, let expected {
                var handshake = try ArkNoise.initiator(identity: identity, responder: expected)
                let message1 = try handshake.writeMessage()
                phase = .handshake(handshake)
                writeFramed(message1)
                context.flush()
            } else {
                phase = .handshake(try ArkNoise.responder(identity: identity))
            }
        } catch {
            fail(.protocolViolation("cannot start handshake: \(error)"))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        counters.received(message.count + 2)
        if case .closed = phase { return }
        do {
            try handleMessage(message)
        } catch let error as SyncError {
            fail(error)
        } catch {
            fail(.protocolViolation("\(error)"))
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
        if let error = error as? SyncError { return fail(error) } // framing (NoiseFrameDecoder)
        fail(.protocolViolation("socket error: \(error)"))
    }

    // MARK: Messages

    /// Whether messages are handshake messages (the framing's bounds depend on it).
    var isHandshaking: Bool {
        if case .handshake = phase { return true }
        if case .idle = phase { return true }
        return false
    }

    private func handleMessage(_ message: [UInt8]) throws {
        switch phase {
        case .idle, .closed:
            return
        case .handshake(var handshake):
            if isInitiator {
                try readMessage2(&handshake, message)
            } else if handshake.remoteEphemeral == nil {
                guard try handshake.readMessage(message).isEmpty else {
                    throw SyncError.protocolViolation("handshake message 1 carries a payload")
                }
                if let channel = context?.channel { gate.handshakeProgressed(channel, address: address) }
                let message2 = try handshake.writeMessage(payload: try ArkNoise.bindingPayload(for: identity))
                phase = .handshake(handshake)
                writeFramed(message2)
                context?.flush()
            } else {
                try readMessage3(&handshake, message)
            }
        case .awaitingAccept, .open:
            guard var transport else { return }
            let plaintext = try transport.decrypt(message)
            self.transport = transport
            var frames = try MuxFrame.decodeAll(plaintext)
            if case .awaitingAccept = phase, let expected {
                let first = frames.removeFirst()
                switch first.kind {
                case .accept where first.stream == 0:
                    becomeOpen(remote: expected)
                case .reject where first.stream == 0:
                    failure = .unauthorized("\(expected.short) refused this node: \(first.text)")
                    traffic.refused(expected, reason: first.text)
                    gate.refusals.log(logger, .warning, key: expected.hex) {
                        "connection to \(expected.short) at \(peerLabel) refused: \(first.text) (we are not in its remotes)"
                    }
                    closeChannel()
                    return
                default:
                    throw SyncError.protocolViolation("expected ACCEPT or REJECT, got \(first.kind)")
                }
            }
            try handleFrames(frames)
        }
    }

    /// The check behind "state is only touched on the channel's event loop", at the entry
    /// points other threads reach through `MuxPeerConnection` (debug builds).
    func assertOnEventLoop() {
        context?.eventLoop.assertInEventLoop()
    }

    // MARK: Writing

    func writeFramed(_ message: [UInt8]) {
        guard let context else { return }
        context.eventLoop.assertInEventLoop()
        let buffer = NoiseFrameDecoder.frame(message, allocator: context.channel.allocator)
        counters.sent(buffer.readableBytes)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    /// Encrypts `frames` as one transport message (the caller keeps them within one message).
    func writeEncrypted(_ frames: [MuxFrame]) {
        var plaintext: [UInt8] = []
        for frame in frames { frame.encode(into: &plaintext) }
        writePlaintext(plaintext)
    }

    func writePlaintext(_ plaintext: [UInt8]) {
        guard var transport else { return }
        do {
            writeFramed(try transport.encrypt(plaintext))
            self.transport = transport
        } catch {
            fail(.protocolViolation("cannot encrypt: \(error)"))
        }
    }
}
