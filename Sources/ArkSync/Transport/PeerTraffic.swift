import ArkCore
import Foundation
import Synchronization

/// Per-peer traffic and connection state, counted at the transport: bytes on the wire (TCP
/// payload, Noise framing included) in each direction, totalled across reconnects, when the
/// current connection opened, and when the peer was last heard from.
///
/// A session counts into its own `PeerCounters` during the handshake (the peer is not known
/// yet) and into the peer's shared counters once the peer's identity is proven.
package final class PeerTraffic: Sendable {
    /// One peer's figures at one moment.
    package struct Snapshot: Sendable, Equatable {
        package var bytesIn: UInt64
        package var bytesOut: UInt64
        /// Open, authenticated connections now (normally 0 or 1).
        package var openConnections: Int
        /// Connections opened since the transport started.
        package var connections: Int
        /// When the oldest open connection opened; nil while disconnected.
        package var connectedSince: Date?
        /// Last bytes received from the peer, or the last disconnect if later.
        package var lastSeen: Date?
        /// The remote address of the most recent connection ("ip:port").
        package var address: String?
        /// Why the peer refused this node on its last attempt (its REJECT text); nil once it
        /// accepts this node again, or if it never refused.
        package var refusal: String?
    }

    private struct Entry {
        let counters = PeerCounters()
        var open: [ObjectIdentifier: (since: Date, address: String?)] = [:]
        var connections = 0
        var lastClosed: Date?
        var address: String?
        var refusal: String?
    }

    private let peers = Mutex<[ObjectID: Entry]>([:])

    package init() {}

    /// Counters of `peer`, created on first use; a session adds to them once the peer is known.
    func counters(for peer: ObjectID) -> PeerCounters {
        peers.withLock { p in
            if let e = p[peer] { return e.counters }
            let e = Entry()
            p[peer] = e
            return e.counters
        }
    }

    func opened(_ peer: ObjectID, session: ObjectIdentifier, address: String?) {
        peers.withLock { p in
            var e = p[peer] ?? Entry()
            e.open[session] = (Date(), address)
            e.connections += 1
            e.address = address ?? e.address
            p[peer] = e
        }
    }

    /// `peer` rejected this node after the handshake (this node is not in its remotes).
    func refused(_ peer: ObjectID, reason: String) {
        peers.withLock { p in
            var e = p[peer] ?? Entry()
            e.refusal = reason
            p[peer] = e
        }
    }

    /// `peer` accepted a connection: any earlier refusal is over.
    func accepted(_ peer: ObjectID) {
        peers.withLock { p in p[peer]?.refusal = nil }
    }

    func closed(_ peer: ObjectID, session: ObjectIdentifier) {
        peers.withLock { p in
            guard var e = p[peer], e.open.removeValue(forKey: session) != nil else { return }
            e.lastClosed = Date()
            p[peer] = e
        }
    }

    /// Every peer that connected at least once since the transport started.
    package func snapshot() -> [ObjectID: Snapshot] {
        peers.withLock { p in
            p.mapValues { e in
                let heard = e.counters.lastReceived
                let seen = [heard, e.lastClosed].compactMap { $0 }.max()
                return Snapshot(
                    bytesIn: e.counters.bytesIn.load(ordering: .relaxed),
                    bytesOut: e.counters.bytesOut.load(ordering: .relaxed),
                    openConnections: e.open.count, connections: e.connections,
                    connectedSince: e.open.values.map(\.since).min(), lastSeen: seen, address: e.address,
                    refusal: e.refusal)
            }
        }
    }
}

/// Byte counters one or more sessions add to (atomics, so the event loops never wait on a lock).
final class PeerCounters: Sendable {
    let bytesIn = Atomic<UInt64>(0)
    let bytesOut = Atomic<UInt64>(0)
    /// Milliseconds since 1970 of the last bytes received; 0: never.
    let lastReceivedMillis = Atomic<Int64>(0)

    func received(_ n: Int) {
        bytesIn.add(UInt64(n), ordering: .relaxed)
        lastReceivedMillis.store(Int64(Date().timeIntervalSince1970 * 1000), ordering: .relaxed)
    }

    func sent(_ n: Int) { bytesOut.add(UInt64(n), ordering: .relaxed) }

    /// Moves what `other` counted (a session's handshake bytes) into these counters.
    func absorb(_ other: PeerCounters) {
        bytesIn.add(other.bytesIn.load(ordering: .relaxed), ordering: .relaxed)
        bytesOut.add(other.bytesOut.load(ordering: .relaxed), ordering: .relaxed)
        let t = other.lastReceivedMillis.load(ordering: .relaxed)
        if t > lastReceivedMillis.load(ordering: .relaxed) { lastReceivedMillis.store(t, ordering: .relaxed) }
    }

    var lastReceived: Date? {
        let ms = lastReceivedMillis.load(ordering: .relaxed)
        return ms == 0 ? nil : Date(timeIntervalSince1970: Double(ms) / 1000)
    }
}
