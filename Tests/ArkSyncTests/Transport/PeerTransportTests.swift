import ArkCore
import Foundation
import Testing

@testable import ArkSync

@Suite struct PeerTransportTests {
    @Test func handshakeAndRoundTrip() async throws {
        let server = try await TestNode.start(respond: { body, _ in Array("re:".utf8) + body })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        let connection = try await client.connect(to: server)
        #expect(connection.remote == server.id)
        let response = try await connection.request(Array("hello".utf8), deadline: 5)
        #expect(response == Array("re:hello".utf8))
        #expect(client.handler.snapshot().opened == [server.id])
        #expect(await eventually { server.handler.snapshot().opened == [client.id] })
        #expect(server.handler.snapshot().requests == 1)

        // Empty bodies round-trip too.
        #expect(try await connection.request([], deadline: 5) == Array("re:".utf8))

        connection.close()
        #expect(await eventually { server.handler.snapshot().closed == [client.id] && client.handler.snapshot().closed == [server.id] })
        await expectSyncError({ $0 == .closed }) { _ = try await connection.request([1], deadline: 5) }
    }

    @Test func bothDirectionsCarryRequestsAndNotifications() async throws {
        let server = try await TestNode.start(respond: { body, _ in [0x53] + body })
        let client = try await TestNode.start(respond: { body, _ in [0x43] + body })
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        let outbound = try await client.connect(to: server)
        #expect(await eventually { server.handler.connection(to: client.id) != nil })
        let inbound = try #require(server.handler.connection(to: client.id))
        #expect(inbound.remote == client.id)

        #expect(try await outbound.request([1, 2], deadline: 5) == [0x53, 1, 2])
        #expect(try await inbound.request([3, 4], deadline: 5) == [0x43, 3, 4])

        try await outbound.notify([7])
        try await inbound.notify([8])
        try await inbound.notify(Array(repeating: 9, count: 100_000))  // spans several frames
        #expect(await eventually { server.handler.snapshot().notifications == [[7]] })
        #expect(await eventually { client.handler.snapshot().notifications.count == 2 })
        #expect(client.handler.snapshot().notifications == [[8], Array(repeating: 9, count: 100_000)])
    }

    @Test func remoteErrorComesBackAsSyncErrorRemote() async throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "no such object" } }
        let server = try await TestNode.start(respond: { _, _ in throw Refused() })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        let connection = try await client.connect(to: server)
        await expectSyncError({ $0 == .remote("no such object") }) { _ = try await connection.request([1], deadline: 5) }
        // The connection survives an error response.
        await expectSyncError({ $0 == .remote("no such object") }) { _ = try await connection.request([2], deadline: 5) }
    }

    @Test func unauthorizedPeerIsRefusedBeforeAnyRequest() async throws {
        let server = try await TestNode.start(authorize: { _ in false })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        await expectSyncError({ if case .unauthorized = $0 { true } else { false } }) {
            let connection = try await client.connect(to: server)
            _ = try await connection.request([1], deadline: 2)
        }
        try await Task.sleep(for: .milliseconds(100))
        let seen = server.handler.snapshot()
        #expect(seen.opened.isEmpty && seen.requests == 0)
        #expect(client.handler.snapshot().opened.isEmpty)
    }

    @Test func authorizationSeesTheInitiatorsProvenID() async throws {
        let client = try await TestNode.start()
        let allowed = client.id
        let server = try await TestNode.start(authorize: { $0 == allowed })
        let stranger = try await TestNode.start()
        defer { Task { for node in [server, client, stranger] { await node.transport.shutdown() } } }

        let connection = try await client.connect(to: server)
        #expect(try await connection.request([5], deadline: 5) == [5])
        await expectSyncError({ if case .unauthorized = $0 { true } else { false } }) {
            _ = try await stranger.connect(to: server)
        }
        #expect(await eventually { server.handler.snapshot().opened == [client.id] })
    }

    @Test func connectingWithTheWrongExpectedIDFails() async throws {
        let server = try await TestNode.start()
        let client = try await TestNode.start()
        let other = try makeIdentity()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        await expectSyncError({ if case .unauthorized = $0 { true } else { false } }) {
            _ = try await client.transport.connect(host: "127.0.0.1", port: server.port, expecting: other.endpointID)
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(server.handler.snapshot().opened.isEmpty)
        #expect(client.handler.snapshot().opened.isEmpty)
    }

    @Test func shutdownFailsPendingRequestsWithClosed() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            try await Task.sleep(for: .seconds(10))
            return body
        })
        let client = try await TestNode.start()
        defer { Task { await client.transport.shutdown() } }

        let connection = try await client.connect(to: server)
        let pending = Task { try await connection.request([1], deadline: 30) }
        try await Task.sleep(for: .milliseconds(100))
        await server.transport.shutdown()
        await expectSyncError({ $0 == .closed }) { _ = try await pending.value }
        var refused = false
        do { _ = try await client.connect(to: server) } catch { refused = true }
        #expect(refused, "a shut-down transport no longer listens")
    }
}
