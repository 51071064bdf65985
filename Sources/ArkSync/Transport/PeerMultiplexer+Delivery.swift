import ArkCore
import NIOCore

/// Delivery to the `PeerHandler`, by one task per connection that the connection owns:
/// `connectionOpened` first; then notifications in arrival order (one child task) while every
/// admitted request runs as its own child task of a task group (so a slow notification handler
/// never holds up requests); `connectionClosed` after the last notification. When the
/// connection closes, the request group is cancelled: request work still in flight sees
/// cancellation, and the task ends once it returned, so nothing outlives the connection.
extension PeerMultiplexer {
    /// A complete, admitted request, on its way to the handler.
    struct IncomingRequest: Sendable {
        let stream: UInt64
        let body: [UInt8]
    }

    func becomeOpen() {
        guard let context else { return }
        context.eventLoop.assertInEventLoop()
        let remote = self.remote
        gate.admitPeer(context.channel, peer: remote)
        budgetPeer = remote
        traffic.accepted(remote)
        let connection = MuxPeerConnection(remote: remote, session: self, eventLoop: context.eventLoop, limits: limits)
        self.connection = connection
        let shared = traffic.counters(for: remote)
        shared.absorb(framing.counters)
        framing.counters = shared
        countedPeer = remote
        traffic.opened(remote, session: ObjectIdentifier(self), address: peerLabel)
        let (notifications, inbox) = AsyncStream<[UInt8]>.makeStream()
        let (requests, requestInbox) = AsyncStream<IncomingRequest>.makeStream()
        self.inbox = inbox
        self.requestInbox = requestInbox
        logger.debug("connection with \(remote.short) at \(peerLabel) open")
        delivery = Task { [self, handler] in
            await handler.connectionOpened(connection)
            connection.eventLoop.execute { [self] in
                if let promise = established {
                    established = nil
                    promise.succeed(connection)
                }
            }
            async let drained: Void = Self.deliver(notifications, to: handler, from: connection)
            await withDiscardingTaskGroup { group in
                for await request in requests {
                    group.addTask { [self] in await serve(request, handler: handler, connection: connection) }
                }
                group.cancelAll()  // the connection closed: its request work in flight is cancelled
            }
            await drained
            await handler.connectionClosed(connection)
        }
        pump()
    }

    private static func deliver(
        _ notifications: AsyncStream<[UInt8]>, to handler: any PeerHandler,
        from connection: MuxPeerConnection
    ) async {
        for await body in notifications {
            await handler.handleNotification(body, from: connection)
        }
    }

    /// Runs the handler for one request and queues its answer on the event loop.
    private func serve(_ request: IncomingRequest, handler: any PeerHandler, connection: MuxPeerConnection) async {
        let result: Result<[UInt8], any Error>
        do {
            try Task.checkCancellation()
            result = .success(try await handler.handleRequest(request.body, from: connection))
        } catch {
            result = .failure(error)
        }
        connection.eventLoop.execute { [self] in respond(stream: request.stream, result) }
    }

    /// Hands a complete, admitted request to the delivery task.
    func dispatchRequest(stream id: UInt64, body: [UInt8]) {
        assertOnEventLoop()
        guard let requestInbox else { return }
        requestInbox.yield(IncomingRequest(stream: id, body: body))
    }
}
