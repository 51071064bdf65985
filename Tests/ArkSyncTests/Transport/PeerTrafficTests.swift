import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// `PeerTransport.traffic`: bytes counted on both ends agree exactly, totals survive
/// reconnects, and connection times follow opens and closes.
@Suite struct PeerTrafficTests {
    @Test func bothEndsCountTheSameBytesAcrossReconnects() async throws {
        let server = try await TestNode.start(respond: { body, _ in body })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        func balanced() -> Bool {
            guard let c = client.transport.traffic.snapshot()[server.id], let s = server.transport.traffic.snapshot()[client.id] else {
                return false
            }
            return c.bytesOut == s.bytesIn && c.bytesIn == s.bytesOut
        }

        let first = try await client.connect(to: server)
        _ = try await first.request(Array(repeating: 1, count: 100_000), deadline: 5)
        #expect(await eventually { balanced() })
        let open = try #require(client.transport.traffic.snapshot()[server.id])
        #expect(open.bytesOut > 100_000 && open.bytesIn > 100_000)
        #expect(open.openConnections == 1 && open.connections == 1)
        #expect(open.connectedSince != nil && open.lastSeen != nil)
        #expect(open.address == "127.0.0.1:\(server.port)")

        first.close()
        #expect(await eventually { server.transport.traffic.snapshot()[client.id]?.openConnections == 0 })
        #expect(await eventually { client.transport.traffic.snapshot()[server.id]?.openConnections == 0 })
        let closed = try #require(client.transport.traffic.snapshot()[server.id])
        #expect(closed.connectedSince == nil && closed.lastSeen != nil)

        let second = try await client.connect(to: server)
        _ = try await second.request([2], deadline: 5)
        #expect(await eventually { balanced() })
        let again = try #require(client.transport.traffic.snapshot()[server.id])
        #expect(again.connections == 2 && again.openConnections == 1)
        #expect(again.bytesOut > closed.bytesOut && again.bytesIn > closed.bytesIn)
    }
}
