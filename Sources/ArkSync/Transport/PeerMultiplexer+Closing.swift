import ArkCore
import NIOCore

/// Closing a connection: one (rate-limited) log line when this side drops it, and a teardown
/// that fails everything pending, ends delivery (cancelling request work in flight) and
/// returns the connection's share of the gate's budgets.
extension PeerMultiplexer {
    /// Drops the connection with one log line naming why.
    func fail(_ error: SyncError) {
        if case .closed = phase { return }
        gate.logs.log(logger, .warning, key: remote.hex) {
            "dropping connection with \(remote.short) at \(peerLabel): \(error)"
        }
        failure = failure ?? error
        closeChannel()
    }

    func closeChannel() {
        assertOnEventLoop()
        if case .closed = phase { return }
        phase = .closed
        context?.close(promise: nil)
        teardown()
    }

    /// Fails everything pending; runs once, whoever closed.
    func teardown() {
        assertOnEventLoop()
        if let channel = context?.channel, let peer = budgetPeer { gate.peerClosed(channel, peer: peer) }
        releaseAllResponses()
        phase = .closed
        if let peer = countedPeer {
            countedPeer = nil
            traffic.closed(peer, session: ObjectIdentifier(self))
        }
        if let promise = established {
            established = nil
            promise.fail(failure ?? SyncError.closed)
        }
        let open = streams.values.filter { $0.isLocal }
        streams = [:]
        ticketStreams = [:]
        for stream in open {
            stream.deadline?.cancel()
            stream.continuation?.resume(throwing: SyncError.closed)
            stream.continuation = nil
        }
        let waiting = pending
        pending = []
        for request in waiting {
            request.deadline.cancel()
            request.continuation.resume(throwing: SyncError.closed)
        }
        control = []
        notifications = []
        ring = []
        inbox?.finish()  // notifications already received are still delivered, then `connectionClosed`
        inbox = nil
        requestInbox?.finish()  // ends the request group, which cancels the requests still running
        requestInbox = nil
        connection = nil  // breaks the session <-> connection cycle; the connection now only fails
    }
}
