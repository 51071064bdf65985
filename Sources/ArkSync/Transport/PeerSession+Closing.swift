import ArkCore
import NIOCore

/// Closing a connection: one (rate-limited) log line when this side drops it, and a teardown
/// that fails everything pending and returns the connection's share of the gate's budgets.
extension PeerSession {
    /// Drops the connection with one log line naming why.
    func fail(_ error: SyncError) {
        if case .closed = phase { return }
        let peer = connection?.remote
        gate.logs.log(logger, .warning, key: peer?.hex ?? address) {
            "dropping connection \(peer.map { "with \($0.short) " } ?? "")at \(peerLabel): \(error)"
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
        if failure == nil, established != nil, let expected {
            switch phase {
            case .handshake:
                failure = .unauthorized("\(peerLabel) closed the connection during the handshake; it is not \(expected.short) or refused us")
            case .awaitingAccept:
                failure = .unauthorized("\(expected.short) at \(peerLabel) closed the connection instead of accepting this node")
            default:
                break
            }
        }
        if let channel = context?.channel {
            if !isInitiator { gate.handshakeEnded(channel, address: address) }
            if let peer = budgetPeer { gate.peerClosed(channel, peer: peer) }
        }
        releaseAllResponses()
        phase = .closed
        handshakeTimer?.cancel()
        handshakeTimer = nil
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
        inbox?.finish()
        inbox = nil
        connection = nil // breaks the session <-> connection cycle; the connection now only fails
    }
}
