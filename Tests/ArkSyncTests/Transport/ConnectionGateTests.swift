import ArkCore
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import ArkSync

/// The admission rules of `ConnectionGate`, on embedded channels.
@Suite struct ConnectionGateTests {
    static func gate(_ configure: (inout TransportLimits) -> Void = { _ in }) -> ConnectionGate {
        var limits = TransportLimits()
        configure(&limits)
        return ConnectionGate(limits: limits, logger: Logger(label: "test"))
    }

    static func isClosed(_ channel: EmbeddedChannel) -> Bool {
        let closed = Mutex(false)
        channel.closeFuture.whenComplete { _ in closed.withLock { $0 = true } }
        channel.embeddedEventLoop.run()
        return closed.withLock { $0 }
    }

    @Test func overTheAddressCapTheOldestPendingHandshakeIsClosed() throws {
        let gate = Self.gate { $0.maxPendingHandshakesPerAddress = 3 }
        let flood = (0..<3).map { _ in EmbeddedChannel() }
        for c in flood { gate.admitHandshake(c, address: "10.0.0.1") }
        let other = EmbeddedChannel()
        gate.admitHandshake(other, address: "10.0.0.2")
        #expect(!flood.contains(where: Self.isClosed))
        let honest = EmbeddedChannel()
        gate.admitHandshake(honest, address: "10.0.0.1")
        #expect(Self.isClosed(flood[0]) && !Self.isClosed(flood[1]) && !Self.isClosed(honest) && !Self.isClosed(other))
        #expect(gate.pendingHandshakes == 4)
        gate.handshakeEnded(honest, address: "10.0.0.1")
        #expect(gate.pendingHandshakes == 3)
    }

    @Test func aHandshakeUnderWayOutlivesIdleConnections() throws {
        let gate = Self.gate { $0.maxPendingHandshakesPerAddress = 3 }
        let honest = EmbeddedChannel()
        gate.admitHandshake(honest, address: "127.0.0.1")
        gate.handshakeProgressed(honest, address: "127.0.0.1")
        let flood = (0..<10).map { _ in EmbeddedChannel() }
        for c in flood { gate.admitHandshake(c, address: "127.0.0.1") }
        #expect(!Self.isClosed(honest), "idle connections displace each other, not a handshake under way")
        #expect(flood.prefix(8).allSatisfy(Self.isClosed) && !flood.suffix(2).contains(where: Self.isClosed))
    }

    @Test func overTheOverallCapTheBusiestAddressLosesItsOldest() throws {
        let gate = Self.gate { $0.maxPendingHandshakes = 4 }
        let quiet = EmbeddedChannel()
        gate.admitHandshake(quiet, address: "10.0.0.9")
        let flood = (0..<3).map { _ in EmbeddedChannel() }
        for c in flood { gate.admitHandshake(c, address: "10.0.0.1") }
        let newcomer = EmbeddedChannel()
        gate.admitHandshake(newcomer, address: "10.0.0.5")
        #expect(!Self.isClosed(quiet), "an address with one pending handshake is not evicted for a flood from another")
        #expect(Self.isClosed(flood[0]) && !Self.isClosed(newcomer))
        #expect(gate.pendingHandshakes == 4)
    }

    @Test func aPeerOverItsConnectionCapLosesItsOldest() throws {
        let gate = Self.gate { $0.maxConnectionsPerPeer = 2 }
        let peer = ObjectID(hex: String(repeating: "ab", count: 32))!
        let connections = (0..<3).map { _ in EmbeddedChannel() }
        for c in connections { gate.admitPeer(c, peer: peer) }
        #expect(Self.isClosed(connections[0]) && !Self.isClosed(connections[1]) && !Self.isClosed(connections[2]))
    }

    @Test func aPeerBudgetAdmitsWhileUnderItAndWakesWaitersOnRelease() throws {
        let gate = Self.gate { $0.responseBytesPerPeer = 10 }
        let peer = ObjectID(hex: String(repeating: "cd", count: 32))!
        #expect(gate.reserve(8, peer: peer) {})
        #expect(gate.reserve(8, peer: peer) {}, "under budget (8 < 10): one more may start")
        let woken = Mutex(false)
        #expect(!gate.reserve(8, peer: peer) { woken.withLock { $0 = true } })
        gate.release(8, peer: peer)
        #expect(woken.withLock { $0 })
        #expect(gate.responseBytes(of: peer) == 8)
    }

    @Test func logLinesAreLimitedPerKeyAndOverall() {
        let limiter = LogLimiter(interval: 10, maxLines: 3)
        let t = Date()
        #expect(limiter.pass("a", now: t) == 0)
        #expect(limiter.pass("a", now: t) == nil)
        #expect(limiter.pass("b", now: t) == 1, "a line reports what was suppressed since the last one")
        #expect(limiter.pass("c", now: t) == 0)
        #expect(limiter.pass("d", now: t) == nil, "the interval's lines are used up")
        #expect(limiter.pass("a", now: t.addingTimeInterval(11)) == 1, "the next line counts what was suppressed")
    }
}
