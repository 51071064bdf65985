import ArkCore
import NIOCore

/// Delivery to the `PeerHandler`: `connectionOpened` first, then notifications in arrival order
/// on one task, requests each on their own task (so a slow notification handler never holds up
/// requests), and `connectionClosed` after the last notification.
extension PeerSession {
    func becomeOpen(remote: ObjectID) {
        guard let context else { return }
        phase = .open
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if !isInitiator { gate.handshakeEnded(context.channel, address: address) }
        gate.admitPeer(context.channel, peer: remote)
        budgetPeer = remote
        traffic.accepted(remote)
        let connection = MuxPeerConnection(remote: remote, session: self, eventLoop: context.eventLoop, limits: limits)
        self.connection = connection
        let shared = traffic.counters(for: remote)
        shared.absorb(counters)
        counters = shared
        countedPeer = remote
        traffic.opened(remote, session: ObjectIdentifier(self), address: peerLabel)
        let (notifications, inbox) = AsyncStream<[UInt8]>.makeStream()
        self.inbox = inbox
        logger.debug("connection with \(remote.short) at \(peerLabel) open")
        let handler = self.handler
        let opened = Task { [self] in
            await handler.connectionOpened(connection)
            connection.eventLoop.execute { [self] in
                if let promise = established {
                    established = nil
                    promise.succeed(connection)
                }
            }
        }
        self.opened = opened
        Task {
            await opened.value
            for await body in notifications {
                await handler.handleNotification(body, from: connection)
            }
            await handler.connectionClosed(connection)
        }
        pump()
    }

    /// Runs the handler for a complete request (after `connectionOpened`) and queues its answer.
    func dispatchRequest(stream id: UInt64, body: [UInt8]) {
        guard let connection, let opened else { return }
        let handler = self.handler
        Task { [self] in
            await opened.value
            let result: Result<[UInt8], any Error>
            do {
                result = .success(try await handler.handleRequest(body, from: connection))
            } catch {
                result = .failure(error)
            }
            connection.eventLoop.execute { [self] in respond(stream: id, result) }
        }
    }
}
