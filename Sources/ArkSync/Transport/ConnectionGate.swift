import ArkCore
import Glibc
import Logging
import NIOCore
import Synchronization

/// Admission of connections and of response work, shared by every session of one transport.
///
/// **Handshakes.** Anyone who can reach the port may open connections without a key, so
/// accepted connections still in their handshake are capped, overall and per source address.
/// A new connection is never refused for it: over a cap, the *oldest* pending handshake is
/// closed instead (of the same address for the per-address cap, of the address with the most
/// pending handshakes for the overall one), preferring one that has not sent its first
/// handshake message yet. An honest peer sends that message at once and finishes in a few
/// round trips, so a flood of idle connections, even from the same address (every peer on
/// loopback or behind one NAT shares it), never displaces it, and a flood that does send
/// message 1 must open more connections than the cap within those round trips. Refusing new
/// connections instead would let a flood that got there first keep everyone out until its
/// handshakes time out.
///
/// **Connections per peer.** An authenticated peer may hold `maxConnectionsPerPeer`
/// connections; opening another closes its oldest (a peer that rebooted leaves a dead one).
///
/// **Response bytes.** Each peer has a budget of response bytes held built but not yet sent
/// over all its connections (`PeerMultiplexer+Budget` reserves and releases it).
final class ConnectionGate: Sendable {
    private struct Pending {
        let key: ObjectIdentifier
        let channel: any Channel
        /// The peer sent its first handshake message.
        var progressed = false
        /// Admission order across all addresses.
        var order: UInt64 = 0
    }

    private struct State {
        /// Per address, oldest first.
        var pending: [String: [Pending]] = [:]
        var pendingCount = 0
        var admitted: UInt64 = 0
        var evicted = 0
        /// Per peer, oldest first.
        var open: [ObjectID: [Pending]] = [:]
        var responseBytes: [ObjectID: Int] = [:]
        /// Sessions waiting for their peer's budget, woken when it frees up.
        var waiters: [ObjectID: [@Sendable () -> Void]] = [:]
    }

    let limits: TransportLimits
    let logger: Logger
    /// Per-connection log lines before a peer is proven (keyed by address) and after (by id).
    let logs = LogLimiter(interval: 10)
    /// One line per refused node (keyed by node id).
    let refusals = LogLimiter(interval: 300)
    private let state = Mutex(State())

    init(limits: TransportLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    // MARK: Handshakes

    /// Registers an accepted connection from `address`; closes the pending handshakes it displaces.
    func admitHandshake(_ channel: any Channel, address: String) {
        let key = ObjectIdentifier(channel)
        let address = Self.group(address)
        let victims = state.withLock { s -> [any Channel] in
            var out: [any Channel] = []
            func evict(from address: String) {
                guard var list = s.pending[address], !list.isEmpty else { return }
                let i = list.firstIndex { !$0.progressed } ?? 0
                out.append(list.remove(at: i).channel)
                s.pending[address] = list.isEmpty ? nil : list
                s.pendingCount -= 1
            }
            if (s.pending[address]?.count ?? 0) >= limits.maxPendingHandshakesPerAddress { evict(from: address) }
            if s.pendingCount >= limits.maxPendingHandshakes {
                // The address with the most pending handshakes; when every address has one (a
                // flood from many addresses), the oldest idle one anywhere, else the oldest.
                let busiest = s.pending.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key }
                if let busiest, busiest.value.count > 1 {
                    evict(from: busiest.key)
                } else if let oldest = s.pending.min(by: { a, b in
                    let x = a.value[0], y = b.value[0]
                    return x.progressed != y.progressed ? !x.progressed : x.order < y.order
                })?.key {
                    evict(from: oldest)
                }
            }
            s.admitted += 1
            s.pending[address, default: []].append(Pending(key: key, channel: channel, order: s.admitted))
            s.pendingCount += 1
            s.evicted += out.count
            return out
        }
        guard !victims.isEmpty else { return }
        for victim in victims { victim.close(promise: nil) }
        logs.log(logger, .warning, key: "evict \(address)") {
            let total = state.withLock { $0.evicted }
            return
                "handshake flood: closed the oldest pending handshake to admit a connection from \(address) (caps: \(limits.maxPendingHandshakes) pending, \(limits.maxPendingHandshakesPerAddress) per address; \(total) closed so far)"
        }
    }

    /// The connection's first handshake message arrived.
    func handshakeProgressed(_ channel: any Channel, address: String) {
        let key = ObjectIdentifier(channel)
        let address = Self.group(address)
        state.withLock { s in
            guard let i = s.pending[address]?.firstIndex(where: { $0.key == key }) else { return }
            s.pending[address]![i].progressed = true
        }
    }

    /// The connection finished (or abandoned) its handshake.
    func handshakeEnded(_ channel: any Channel, address: String) {
        let key = ObjectIdentifier(channel)
        let address = Self.group(address)
        state.withLock { s in
            guard let i = s.pending[address]?.firstIndex(where: { $0.key == key }) else { return }
            s.pending[address]!.remove(at: i)
            if s.pending[address]!.isEmpty { s.pending[address] = nil }
            s.pendingCount -= 1
        }
    }

    var pendingHandshakes: Int { state.withLock { $0.pendingCount } }

    /// What the per-address cap counts: an IPv4 address, or the /64 an IPv6 address is in (one
    /// host is usually given a whole /64, so its addresses are one source).
    static func group(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        let host = address.hasPrefix("[") ? String(address.dropFirst().prefix { $0 != "]" }) : address
        guard inet_pton(AF_INET6, host, &bytes) == 1 else { return address }
        return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(
            separator: ":") + "::/64"
    }

    // MARK: Connections per peer

    /// Registers an authenticated connection of `peer`; closes its oldest over the cap.
    func admitPeer(_ channel: any Channel, peer: ObjectID) {
        let victims = state.withLock { s -> [any Channel] in
            s.open[peer, default: []].append(Pending(key: ObjectIdentifier(channel), channel: channel))
            let excess = s.open[peer]!.count - limits.maxConnectionsPerPeer
            guard excess > 0 else { return [] }
            defer { s.open[peer]!.removeFirst(excess) }
            return s.open[peer]!.prefix(excess).map(\.channel)
        }
        guard !victims.isEmpty else { return }
        logs.log(logger, .warning, key: "peer-cap \(peer.hex)") {
            "peer \(peer.short) opened more than \(limits.maxConnectionsPerPeer) connections; closing its oldest"
        }
        for victim in victims { victim.close(promise: nil) }
    }

    func peerClosed(_ channel: any Channel, peer: ObjectID) {
        let key = ObjectIdentifier(channel)
        state.withLock { s in
            s.open[peer]?.removeAll { $0.key == key }
            if s.open[peer]?.isEmpty == true { s.open[peer] = nil }
        }
    }

    // MARK: Response budget per peer

    /// Takes `bytes` of `peer`'s budget while the peer holds less than the budget (so it holds
    /// at most the budget plus one reservation); else registers `wake` to run once some of it is
    /// released and returns false.
    func reserve(_ bytes: Int, peer: ObjectID, orWake wake: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { s in
            let held = s.responseBytes[peer] ?? 0
            if held < limits.responseBytesPerPeer {
                s.responseBytes[peer] = held + bytes
                return true
            }
            s.waiters[peer, default: []].append(wake)
            return false
        }
    }

    /// Returns `bytes` to `peer`'s budget (negative: takes more, when a response outgrew its reservation).
    func release(_ bytes: Int, peer: ObjectID) {
        guard bytes != 0 else { return }
        let wake = state.withLock { s -> [@Sendable () -> Void] in
            let held = (s.responseBytes[peer] ?? 0) - bytes
            s.responseBytes[peer] = held > 0 ? held : nil
            guard bytes > 0 else { return [] }
            return s.waiters.removeValue(forKey: peer) ?? []
        }
        for w in wake { w() }
    }

    func responseBytes(of peer: ObjectID) -> Int { state.withLock { $0.responseBytes[peer] ?? 0 } }
}
