import ArkCore
import Foundation
import Synchronization
import Testing

@testable import ArkSync

/// The response budget: a peer that grants no credit gets a budget's worth of responses built,
/// not one per request, and the rest are built as credit frees the budget.
@Suite struct PeerTransportBudgetTests {
    @Test func stalledResponsesHoldFurtherRequestsUnbuilt() async throws {
        var limits = TransportLimits()
        limits.responseBytesPerConnection = 1 << 20
        limits.responseReservation = 1 << 20
        let built = Atomic<Int>(0)
        let server = try await TestNode.start(
            limits: limits,
            respond: { body, _ in
                built.add(1, ordering: .relaxed)
                return Array(repeating: body[0], count: 2 << 20)
            })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try #require(try await client.connect(to: server) as? MuxPeerConnection)
        await connection.holdCredit(true)

        let results = Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<10 {
                    group.addTask { try await connection.request([UInt8(i)], deadline: 30) == Array(repeating: UInt8(i), count: 2 << 20) }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
        }
        #expect(await eventually(within: 10) { built.load(ordering: .relaxed) >= 1 })
        try await Task.sleep(for: .milliseconds(500))  // time for more, were the budget not holding them
        #expect(built.load(ordering: .relaxed) == 1, "one 2 MiB response fills the 1 MiB budget; the other nine wait unbuilt")
        await connection.holdCredit(false)
        let done = try await results.value
        #expect(done.count == 10 && done.allSatisfy { $0 })
        #expect(built.load(ordering: .relaxed) == 10)
    }

    @Test func unansweredRequestBytesOverTheCapDropTheConnection() async throws {
        var limits = TransportLimits()
        limits.responseBytesPerConnection = 1  // the first request fills it; the rest wait
        limits.maxBufferedRequestBytes = 64 << 10
        let server = try await TestNode.start(
            limits: limits,
            respond: { body, _ in
                try await Task.sleep(for: .seconds(30))
                return body
            })
        let client = try await TestNode.start()
        defer {
            Task {
                await server.transport.shutdown(); await client.transport.shutdown()
            }
        }
        let connection = try await client.connect(to: server)

        let outcomes = await withTaskGroup(of: SyncError?.self) { group in
            for i in 0..<10 {
                group.addTask {
                    do {
                        _ = try await connection.request(Array(repeating: UInt8(i), count: 16 << 10), deadline: 20)
                        return nil
                    } catch let error as SyncError { return error } catch { return .timeout }
                }
            }
            return await group.reduce(into: [SyncError?]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0 == .closed }, "160 KiB of unanswered requests over a 64 KiB cap drop the connection: \(outcomes)")
        #expect(await eventually { server.handler.snapshot().closed == [client.id] })
    }

    /// Resetting a request does not give its budget back while its handler still runs: a peer
    /// that asks and resets in a loop gets no more work done than the budget allows.
    @Test func resetRequestsKeepTheirBudgetUntilTheHandlerReturns() async throws {
        var limits = TransportLimits()
        limits.responseBytesPerConnection = 1 << 20
        limits.responseReservation = 1 << 20
        let started = Atomic<Int>(0)
        let server = try await TestNode.start(
            limits: limits,
            respond: { body, _ in
                started.add(1, ordering: .relaxed)
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
        for i in 0..<20 {  // each times out after 50 ms, and the client resets its stream
            _ = try? await connection.request([UInt8(i)], deadline: 0.05)
        }
        #expect(
            started.load(ordering: .relaxed) == 1,
            "20 reset requests started \(started.load(ordering: .relaxed)) handlers within one handler's run")
        #expect(await eventually(within: 10) { started.load(ordering: .relaxed) == 1 && server.handler.snapshot().closed.isEmpty })
    }
}
