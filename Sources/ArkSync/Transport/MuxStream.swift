import NIOCore
import Synchronization

/// One request stream of a connection. Owned by its `PeerMultiplexer` and touched only on the
/// connection's event loop (the multiplexer asserts it where it is entered).
final class MuxStream {
    let id: UInt64
    /// True when this side opened the stream (it is the requester).
    let isLocal: Bool

    // Receive half.
    var received: [UInt8] = []
    /// Bytes the peer may still send before it needs more credit.
    var receiveWindow: Int
    /// Received bytes not yet returned to the peer as credit.
    var unacknowledged = 0
    var receivedEnd = false

    // Send half.
    var sendBody: [UInt8] = []
    var sendOffset = 0
    var sendCredit: Int
    /// END or ERROR, sent once the body is out.
    var sendEnd: MuxFrame?
    var inRing = false

    // Requester only.
    var ticket: RequestTicket?
    var continuation: CheckedContinuation<[UInt8], any Error>?
    var deadline: Scheduled<Void>?

    init(id: UInt64, isLocal: Bool, window: Int) {
        self.id = id
        self.isLocal = isLocal
        receiveWindow = window
        sendCredit = window
    }

    var hasSendWork: Bool { sendOffset < sendBody.count || sendEnd != nil }
}

/// Identifies one `request` call from the caller's task to the event loop, so cancellation can
/// find it whether or not its stream is open yet.
final class RequestTicket: Sendable {
    let id: UInt64
    let cancelled = Atomic<Bool>(false)
    init(id: UInt64) { self.id = id }
}

/// A local request waiting for a free stream slot.
struct PendingRequest {
    let ticket: RequestTicket
    let body: [UInt8]
    let continuation: CheckedContinuation<[UInt8], any Error>
    let deadline: Scheduled<Void>
}
