import ArkCore
import Foundation
import Synchronization
import Testing

@testable import ArkSync

@Suite struct PeerTransportFlowTests {
    /// A 16 MiB response is flow-controlled and never blocks the rest of the connection: while
    /// it is held mid-flight (the client withholds credit), a second request completes and the
    /// notifications its handler sends arrive; released, the large response completes intact.
    @Test func largeResponseDoesNotStarveNotificationsOrOtherStreams() async throws {
        let big = Sodium.randomBytes(16 << 20)
        let server = try await TestNode.start(respond: { body, connection in
            if body == [0xB1] { return big }
            for i in 0..<5 { try await connection.notify([UInt8(i)]) }
            return body
        })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try #require(try await client.connect(to: server) as? MuxPeerConnection)

        await connection.holdCredit(true)
        let started = ContinuousClock.now
        let largeDone = Mutex(false)
        async let large: [UInt8] = {
            let response = try await connection.request([0xB1], deadline: 60)
            largeDone.withLock { $0 = true }
            return response
        }()
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await connection.request([0x51], deadline: 30) == [0x51])
        #expect(await eventually { client.handler.snapshot().notifications.count == 5 })
        #expect(client.handler.snapshot().notifications == (0..<5).map { [UInt8($0)] })
        #expect(!largeDone.withLock { $0 }, "the large response is still in flight")

        await connection.holdCredit(false)
        let response = try await large
        #expect(response == big)
        print("16 MiB response with interleaved traffic: \(ContinuousClock.now - started)")
    }

    /// Without any stalling, a small request issued while 16 MiB stream out still gets through.
    @Test func smallRequestOvertakesALargeResponse() async throws {
        let big = Sodium.randomBytes(16 << 20)
        let server = try await TestNode.start(respond: { body, _ in body == [0xB1] ? big : body })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        let started = ContinuousClock.now
        async let large = connection.request([0xB1], deadline: 60)
        var small: [Duration] = []
        for i in 0..<5 {
            let t = ContinuousClock.now
            #expect(try await connection.request([UInt8(i)], deadline: 30) == [UInt8(i)])
            small.append(ContinuousClock.now - t)
        }
        #expect(try await large == big)
        print("16 MiB alongside 5 small requests: \(ContinuousClock.now - started); small round trips \(small)")
    }

    @Test func fiftyConcurrentRequests() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            try await Task.sleep(for: .milliseconds(Int(body[0] % 7)))
            return body + body
        })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
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
        let server = try await TestNode.start(
            limits: limits,
            respond: { body, _ in
                try await Task.sleep(for: .milliseconds(20))
                return body
            })
        let client = try await TestNode.start(limits: limits)
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        let ok = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 { group.addTask { try await connection.request([UInt8(i)], deadline: 20) == [UInt8(i)] } }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(ok)
    }

    @Test func deadlineTimesOutAndResetsTheStream() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            if body == [0x5E] { try await Task.sleep(for: .seconds(30)) }
            return body
        })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        let started = ContinuousClock.now
        await expectSyncError({ $0 == .timeout }) { _ = try await connection.request([0x5E], deadline: 0.2) }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(190) && waited < .seconds(20), "returned at the deadline, not with the answer")
        // The connection keeps working after the reset.
        #expect(try await connection.request([1], deadline: 5) == [1])
    }

    @Test func cancellingARequestThrowsCancellationError() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            try await Task.sleep(for: .seconds(3))
            return body
        })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
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
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        await expectSyncError({ if case .protocolViolation = $0 { true } else { false } }) {
            _ = try await connection.request(Array(repeating: 0, count: (1 << 20) + 1), deadline: 5)
        }
        let exact = Array(repeating: UInt8(3), count: 1 << 20)
        #expect(try await connection.request(exact, deadline: 10) == exact)
    }

    @Test func responseOverTheLimitDropsTheConnection() async throws {
        let server = try await TestNode.start(respond: { body, _ in
            body == [0xB1] ? Array(repeating: 7, count: 2 << 20) : body
        })
        var limits = TransportLimits()
        limits.maxResponseBody = 1 << 20
        let client = try await TestNode.start(limits: limits)
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        await expectSyncError({ $0 == .closed }) { _ = try await connection.request([0xB1], deadline: 10) }
        #expect(await eventually { server.handler.snapshot().closed == [client.id] })
    }

    @Test func handlerResponseOverTheLimitBecomesAnError() async throws {
        var limits = TransportLimits()
        limits.maxResponseBody = 1000
        let server = try await TestNode.start(limits: limits, respond: { _, _ in Array(repeating: 1, count: 1001) })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        await expectSyncError({ if case .remote(let m) = $0 { m.contains("exceeds") } else { false } }) {
            _ = try await connection.request([1], deadline: 5)
        }
    }
}
