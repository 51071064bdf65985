import ArkCore
import NIOCore
import Synchronization

/// The `PeerConnection` of one authenticated, authorized TCP connection. Calls hop to the
/// connection's event loop, where `PeerMultiplexer` owns all state.
final class MuxPeerConnection: PeerConnection {
    let remote: ObjectID
    let session: PeerMultiplexer
    let eventLoop: any EventLoop
    let limits: TransportLimits
    private let tickets = Atomic<UInt64>(0)

    init(remote: ObjectID, session: PeerMultiplexer, eventLoop: any EventLoop, limits: TransportLimits) {
        self.remote = remote
        self.session = session
        self.eventLoop = eventLoop
        self.limits = limits
    }

    func request(_ body: [UInt8], deadline: Double) async throws -> [UInt8] {
        guard body.count <= limits.maxRequestBody else {
            throw SyncError.protocolViolation("request body of \(body.count) bytes exceeds \(limits.maxRequestBody)")
        }
        let ticket = RequestTicket(id: tickets.add(1, ordering: .relaxed).newValue)
        let session = self.session
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                eventLoop.execute {
                    session.startRequest(ticket: ticket, body: body, deadline: deadline, continuation: continuation)
                }
            }
        } onCancel: {
            ticket.cancelled.store(true, ordering: .releasing)
            eventLoop.execute { session.abandon(ticket: ticket, error: CancellationError(), reason: "cancelled") }
        }
    }

    func notify(_ body: [UInt8]) async throws {
        guard body.count <= limits.maxNotification else {
            throw SyncError.protocolViolation("notification of \(body.count) bytes exceeds \(limits.maxNotification)")
        }
        let session = self.session
        try await eventLoop.submit { try session.enqueueNotification(body) }.get()
    }

    func close() {
        let session = self.session
        eventLoop.execute { session.closeChannel() }
    }

    // MARK: Test hooks (hostile-peer tests drive a real connection with bad bytes)

    /// Withholds (or resumes) credit for data this side receives, stalling the peer's streams.
    func holdCredit(_ held: Bool) async {
        let session = self.session
        try? await eventLoop.submit { session.holdCredit(held) }.get()
    }

    /// Writes `bytes` to the socket as they are, outside any framing or encryption.
    func injectRaw(_ bytes: [UInt8]) {
        let session = self.session
        eventLoop.execute {
            session.writeFramedRaw(bytes)
        }
    }

    /// Encrypts `plaintext` as one transport message, optionally flipping a ciphertext bit.
    func injectPlaintext(_ plaintext: [UInt8], tamper: Bool = false) {
        let session = self.session
        eventLoop.execute {
            session.injectPlaintext(plaintext, tamper: tamper)
        }
    }
}

extension PeerMultiplexer {
    /// Writes `bytes` below the framing (straight to the socket).
    func writeFramedRaw(_ bytes: [UInt8]) {
        assertOnEventLoop()
        guard let context, let below = try? context.pipeline.syncOperations.context(handlerType: NoiseFrameEncoder.self) else { return }
        below.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// Encrypts `plaintext` with this connection's transport, optionally tampered with.
    func injectPlaintext(_ plaintext: [UInt8], tamper: Bool) {
        assertOnEventLoop()
        guard let context, let codec = try? context.pipeline.syncOperations.handler(type: NoiseTransportCodec.self) else { return }
        codec.inject(plaintext, tamper: tamper)
    }
}
