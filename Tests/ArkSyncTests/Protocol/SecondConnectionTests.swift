import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// A node may hold two connections to one peer: its daemon's and a command's dialing with the
/// same identity (git-remote-ark fetching a lazy repo's chunks, `ark prefetch`). When the
/// command's closes, the daemon's carries on: announcements still flow both ways.
@Suite("Two connections to one peer")
struct SecondConnectionTests {
    @Test func closingTheSecondConnectionKeepsTheFirst() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        await net.settle()
        let second = LoopbackConnection.pair((a.id, a.engine), (b.id, b.engine))
        await a.engine.connectionOpened(second.0)
        await b.engine.connectionOpened(second.1)
        await net.settle()
        second.0.close()
        await a.engine.connectionClosed(second.0)
        await b.engine.connectionClosed(second.1)
        #expect(a.engine.state.withLock { $0.connections[b.id] } != nil)
        #expect(b.engine.state.withLock { $0.connections[a.id] } != nil)

        let fromA = try a.commit(["a": bytes(200, seed: 9)])
        try await a.engine.announceLocalHeads()
        let fromB = try b.commit(["b": bytes(200, seed: 10)])
        try await b.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == fromA)
        #expect(try a.head(of: b) == fromB)
        await net.disconnectAll()
    }
}
