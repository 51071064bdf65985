import ArkCore
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import ArkSync

/// The connection pipeline's stages and the ownership of request work.
@Suite struct PeerTransportPipelineTests {
    @Test func handshakeHandlerLeavesThePipelineOnceOpen() async throws {
        let server = try await TestNode.start()
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        let connection = try #require(try await client.connect(to: server) as? MuxPeerConnection)
        let session = connection.session
        let stages = try await connection.eventLoop.submit { () -> [Bool] in
            guard let pipeline = session.context?.pipeline.syncOperations else { return [] }
            return [
                (try? pipeline.handler(type: PeerHandshakeHandler.self)) != nil,
                (try? pipeline.handler(type: NoiseTransportCodec.self)) != nil,
                (try? pipeline.handler(type: NoiseFrameEncoder.self)) != nil,
                (try? pipeline.handler(type: PeerMultiplexer.self)) === session
            ]
        }.get()
        #expect(stages == [false, true, true, true])
        #expect(try await connection.request([1, 2, 3], deadline: 5) == [1, 2, 3])
    }

    @Test func closingAConnectionCancelsItsRequestsInFlight() async throws {
        let started = Mutex(0)
        let cancelled = Mutex(0)
        let server = try await TestNode.start(respond: { body, _ in
            started.withLock { $0 += 1 }
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                cancelled.withLock { $0 += 1 }
                throw error
            }
            return body
        })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }

        let connection = try await client.connect(to: server)
        let requests = Task {
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<3 { group.addTask { _ = try? await connection.request([UInt8(i)], deadline: 60) } }
            }
        }
        #expect(await eventually { started.withLock { $0 } == 3 })
        #expect(await eventually { server.handler.connection(to: client.id) != nil })
        try #require(server.handler.connection(to: client.id)).close()
        #expect(await eventually { cancelled.withLock { $0 } == 3 })
        #expect(await eventually { server.handler.snapshot().closed == [client.id] })
        await requests.value
    }
}
