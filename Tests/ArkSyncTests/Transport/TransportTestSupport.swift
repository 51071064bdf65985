import ArkCore
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import ArkSync

/// Records everything a transport delivers; answers requests with `respond` (echo by default).
final class RecordingHandler: PeerHandler {
    struct Log {
        var opened: [ObjectID] = []
        var closed: [ObjectID] = []
        var requests: [[UInt8]] = []
        var notifications: [[UInt8]] = []
        var connections: [any PeerConnection] = []
    }

    let log = Mutex(Log())
    let respond: @Sendable ([UInt8], any PeerConnection) async throws -> [UInt8]

    init(respond: @escaping @Sendable ([UInt8], any PeerConnection) async throws -> [UInt8] = { body, _ in body }) {
        self.respond = respond
    }

    func connectionOpened(_ connection: any PeerConnection) async {
        log.withLock {
            $0.opened.append(connection.remote); $0.connections.append(connection)
        }
    }

    func connectionClosed(_ connection: any PeerConnection) async {
        log.withLock { $0.closed.append(connection.remote) }
    }

    func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        log.withLock { $0.requests.append(body) }
        return try await respond(body, connection)
    }

    func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {
        log.withLock { $0.notifications.append(body) }
    }

    func snapshot() -> (opened: [ObjectID], closed: [ObjectID], requests: Int, notifications: [[UInt8]]) {
        log.withLock { ($0.opened, $0.closed, $0.requests.count, $0.notifications) }
    }

    func connection(to remote: ObjectID) -> (any PeerConnection)? {
        log.withLock { $0.connections.last { $0.remote == remote } }
    }
}

/// A listening transport on 127.0.0.1 with its own identity.
struct TestNode {
    let identity: NodeIdentity
    let handler: RecordingHandler
    let transport: PeerTransport
    let port: Int

    var id: ObjectID { identity.endpointID }

    static func start(
        authorize: @escaping @Sendable (ObjectID) -> Bool = { _ in true },
        limits: TransportLimits = .default,
        respond: @escaping @Sendable ([UInt8], any PeerConnection) async throws -> [UInt8] = { body, _ in body }
    )
        async throws -> TestNode
    {
        let identity = try makeIdentity()
        let handler = RecordingHandler(respond: respond)
        let transport = PeerTransport(
            identity: identity, handler: handler, authorize: authorize,
            group: MultiThreadedEventLoopGroup.singleton, limits: limits)
        let port = try await transport.listen(host: "127.0.0.1", port: 0)
        return TestNode(identity: identity, handler: handler, transport: transport, port: port)
    }

    func connect(to other: TestNode) async throws -> any PeerConnection {
        try await transport.connect(host: "127.0.0.1", port: other.port, expecting: other.id)
    }
}

struct TimedOut: Error {}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

func withTimeout<T: Sendable>(_ seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Opens a plain TCP connection, writes `bytes`, and waits until the other side closes it.
/// Returns the bytes received before the close.
func sendRawUntilClosed(_ bytes: [UInt8], to port: Int, within seconds: Double = 5) async throws -> Int {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await withTimeout(seconds) {
        try await channel.executeThenClose { inbound, outbound in
            if !bytes.isEmpty { try await outbound.write(ByteBuffer(bytes: bytes)) }
            var received = 0
            do {
                for try await chunk in inbound { received += chunk.readableBytes }
            } catch {
                // A reset by the victim counts as closed too.
            }
            return received
        }
    }
}

func expectSyncError(
    _ expected: (SyncError) -> Bool, _ body: () async throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) async {
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
    } catch let error as SyncError {
        #expect(expected(error), "unexpected \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a SyncError, got \(error)", sourceLocation: sourceLocation)
    }
}
