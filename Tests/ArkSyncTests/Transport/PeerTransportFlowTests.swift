import ArkCore
import Foundation
import Synchronization
import Testing
@testable import ArkSync

@Suite struct PeerTransportFlowTests {
    /// A 16 MiB response is flow-controlled and interleaved: notifications the server sends
    /// while it streams, and a small request issued after it, both finish before it does.
    @Test func largeResponseDoesNotStarveNotificationsOrOtherStreams() async throws {
        let big = Sodium.randomBytes(16 << 20)
        let server = try await TestNode.start(respond: { body, connection in
            guard body == [0xB1] else { return body }
            Task {
                try await Task.sleep(for: .milliseconds(2))
                for i in 0..<5 { try await connection.notify([UInt8(i)]) }
            }
            return big
        })
        let client = try await TestNode.start()
        defer { Task { await server.transport.shutdown(); await client.transport.shutdown() } }
        let connection = try await client.connect(to: server)

        let started = ContinuousClock.now
        let order = Mutex<[String]>([])
        async let large: [UInt8] = {
            let response = try await connection.request([0xB1], deadline: 60)
            let notified = client.handler.snapshot().notifications.count
            order.withLock { $0.append("large(notifications seen: \(notified))") }
            return response
        }()
        try await Task.sleep(for: .milliseconds(5))
        let small = try await connection.request([0x51], deadline: 60)
        order.withLock { $0.append("small") }
        let response = try await large
        let elapsed = ContinuousClock.now - started

        #expect(small == [0x51])
        #expect(response.count == big.count)
        #expect(response == big)
        #expect(order.withLock { $0 } == ["small", "large(notifications seen: 5)"])
        #expect(client.handler.snapshot().notifications == (0..<5).map { [UInt8($0)] })
        print("16 MiB response with interleaved traffic: \(elapsed)")
    }

    @Test func fiftyConcurrentRequests() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            try await Task.sleep(for: .milliseconds(Int(body[0] % 7)))
            return body + body
        })
        let client = try await TestNode.start()
        defer { Task { await server.transport.shutdown(); await client.transport.shutdown() } }
        let connection = try await client.connect(to: server)

        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let body = [UInt8(i)] + Array(repeating: UInt8(i), count: i * 1000)
                    return try await connection.request(body, deadline: 20) == body + body
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 50 && results.allSatisfy { $0 })
        #expect(server.handler.snapshot().requests == 50)
    }

    @Test func moreRequestsThanStreamSlotsQueueInsteadOfFailing() async throws {
        var limits = TransportLimits()
        limits.maxOpenStreams = 4
        let server = try await TestNode.start(limits: limits, respond: { body, _ in
            try await Task.sleep(for: .milliseconds(20))
            return body
        })
        let client = try await TestNode.start(limits: limits)
        defer { Task { await server.transport.shutdown(); await client.transport.shutdown() } }
        let connection = try await client.connect(to: server)

        let ok = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 { group.addTask { try await connection.request([UInt8(i)], deadline: 20) == [UInt8(i)] } }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(ok)
    }

    @Test func deadlineTimesOutAndResetsTheStream() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            if body == [0x5E] { try await Task.sleep(for: .seconds(3)) }
            return body
        })
        let client = try await TestNode.start()
        defer { Task { await server.transport.shutdown(); await client.transport.shutdown() } }
        let connection = try await client.connect(to: server)

        let started = ContinuousClock.now
        await expectSyncError({ $0 == .timeout }) { _ = try await connection.request([0x5E], deadline: 0.2) }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(190) && waited < .seconds(2))
        // The connection keeps working after the reset.
        #expect(try await connection.request([1], deadline: 5) == [1])
    }

    @Test func cancellingARequestThrowsCancellationError() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            try await Task.sleep(for: .seconds(3))
            return body
        })
        let client = try await TestNode.start()
        defer { Task { await server.transport.shutdown(); await client.transport.shutdown() } }
        let connection = try await client.connect(to: server)

        let task = Task { try await connection.request([1], deadline: 30) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }

    @Test func oversizedRequestBodyIsRefusedLocally() async throws {
        let server = try await TestNode.start()
        let client = try await TestNode.start()
        defer { Task { await server.transport.shutdown(); await client.transport.shutdown() } }
        let connection = try await client.connect(to: server)

        await expectSyncError({ if case .protocolViolation = $0 { true } else { false } }) {
            _ = try await connection.request(Array(repeating: 0, count: (1 << 20) + 1), deadline: 5)
        }
        let exact = Array(repeating: UInt8(3), count: 1 << 20)
        #expect(try await connection.request(exact, deadline: 10) == exact)
    }
}
