import ArkCore
import ArkSync
import Foundation
import NIOPosix

/// The options every attack reads: `--name value` pairs, parsed strictly.
struct HostileOptions {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    private var values: [String: String] = [:]

    init(_ args: [String]) throws {
        var i = 0
        while i < args.count {
            let key = args[i]
            guard key.hasPrefix("--"), i + 1 < args.count else { throw Invalid(description: "expected --option value, got '\(key)'") }
            values[String(key.dropFirst(2))] = args[i + 1]
            i += 2
        }
    }

    func string(_ key: String) throws -> String {
        guard let v = values[key] else { throw Invalid(description: "missing --\(key)") }
        return v
    }

    func string(_ key: String, default d: String) -> String { values[key] ?? d }

    func int(_ key: String, default d: Int) throws -> Int {
        guard let v = values[key] else { return d }
        guard let n = Int(v) else { throw Invalid(description: "--\(key) must be an integer, got '\(v)'") }
        return n
    }

    func double(_ key: String, default d: Double) throws -> Double {
        guard let v = values[key] else { return d }
        guard let n = Double(v) else { throw Invalid(description: "--\(key) must be a number, got '\(v)'") }
        return n
    }

    /// `--target HOST:PORT`.
    func target() throws -> (host: String, port: Int) {
        let s = try string("target")
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]) else {
            throw Invalid(description: "--target must be host:port, got '\(s)'")
        }
        return (String(s[..<colon]), port)
    }

    /// `--victim NODEID`.
    func victim() throws -> ObjectID {
        let s = try string("victim")
        guard let id = ObjectID(hex: s) else { throw Invalid(description: "--victim must be 64 hex characters") }
        return id
    }

    /// The attacker's identity: node.key of `--key-store` (created if absent).
    func identity() throws -> NodeIdentity {
        let dir = try string("key-store")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try NodeIdentity.loadOrCreate(store: dir)
    }
}

/// A handler that accepts whatever the victim sends and answers nothing useful: it has no
/// heads (so the victim, having learned that, serves it its own) and refuses everything else.
final class SilentHandler: PeerHandler {
    func connectionOpened(_ connection: any PeerConnection) async {}
    func connectionClosed(_ connection: any PeerConnection) async {}
    func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        if case .getHeads = try SyncRequest(decoding: body) { return SyncResponse.heads([]).encoded }
        throw SyncError.remote("no")
    }
    func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {}
}

/// Completes the handshake with the victim as the identity of `--key-store`.
func connectAsMember(
    _ options: HostileOptions, handler: any PeerHandler = SilentHandler(),
    limits: TransportLimits = .default
) async throws -> (PeerTransport, any PeerConnection) {
    let identity = try options.identity()
    let (host, port) = try options.target()
    let transport = PeerTransport(
        identity: identity, handler: handler, authorize: { _ in true },
        group: MultiThreadedEventLoopGroup.singleton, limits: limits)
    let connection = try await transport.connect(host: host, port: port, expecting: try options.victim())
    return (transport, connection)
}

/// The attacks, by name. Each returns a JSON-serializable report of what it did.
enum HostileAttack {
    typealias Run = @Sendable (HostileOptions) async throws -> [String: any Sendable]
    static let all: [String: Run] = [
        "idle-connections": idleConnections,
        "credit-starve": creditStarve,
        "bogus-announce": bogusAnnounce,
        "many-heads": manyHeads,
        "large-trees": largeTrees,
        "lying-structure": lyingStructure
    ]
}
