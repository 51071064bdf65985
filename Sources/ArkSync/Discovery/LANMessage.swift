import ArkCore

/// Datagrams of signed LAN discovery (UDP multicast):
///
///     announce = "arkd" ‖ 0x01 version ‖ 0x01 ‖ node id (32) ‖ tcp port (u16 BE) ‖ unix ms (u64 BE) ‖ ed25519 sig (64)
///     query    = "arkd" ‖ 0x01 version ‖ 0x02 ‖ wanted node id (32)
///
/// The signature covers `"ark/lan/v1" ‖` every announce byte before it, by the announced node's
/// key. A query carries nothing to trust: it only asks that node to announce itself now.
enum LANMessage: Equatable, Sendable {
    case announce(LANAnnouncement)
    case query(ObjectID)

    static let magic: [UInt8] = Array("arkd".utf8)
    static let version: UInt8 = 1
    static let announceLength = 4 + 1 + 1 + 32 + 2 + 8 + 64
    static let queryLength = 4 + 1 + 1 + 32

    var encoded: [UInt8] {
        switch self {
        case .announce(let announcement): announcement.encoded
        case .query(let node): Self.magic + [Self.version, 0x02] + node.bytes
        }
    }

    /// Strict decoding: exact lengths, known magic, version and type; nil otherwise.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 6, Array(bytes[0..<4]) == Self.magic, bytes[4] == Self.version else { return nil }
        switch bytes[5] {
        case 0x01 where bytes.count == Self.announceLength:
            self = .announce(LANAnnouncement(decodingValidLength: bytes))
        case 0x02 where bytes.count == Self.queryLength:
            self = .query(ObjectID(bytes: bytes[6..<38]))
        default:
            return nil
        }
    }
}

/// A node's signed claim "I listen on this TCP port", sent from its LAN address.
struct LANAnnouncement: Equatable, Sendable {
    static let domain: [UInt8] = Array("ark/lan/v1".utf8)

    let node: ObjectID
    let port: UInt16
    let timestampMs: UInt64
    let signature: [UInt8]

    init(identity: NodeIdentity, port: UInt16, timestampMs: UInt64) {
        node = identity.endpointID
        self.port = port
        self.timestampMs = timestampMs
        signature = identity.sign(Self.domain + Self.signedBytes(node: node, port: port, timestampMs: timestampMs))
    }

    init(node: ObjectID, port: UInt16, timestampMs: UInt64, signature: [UInt8]) {
        self.node = node
        self.port = port
        self.timestampMs = timestampMs
        self.signature = signature
    }

    fileprivate init(decodingValidLength bytes: [UInt8]) {
        node = ObjectID(bytes: bytes[6..<38])
        port = UInt16(bytes[38]) << 8 | UInt16(bytes[39])
        timestampMs = bytes[40..<48].reduce(0) { $0 << 8 | UInt64($1) }
        signature = Array(bytes[48..<112])
    }

    static func signedBytes(node: ObjectID, port: UInt16, timestampMs: UInt64) -> [UInt8] {
        var out = LANMessage.magic + [LANMessage.version, 0x01] + node.bytes
        out += [UInt8(port >> 8), UInt8(port & 0xff)]
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: timestampMs >> UInt64(shift))) }
        return out
    }

    var encoded: [UInt8] { Self.signedBytes(node: node, port: port, timestampMs: timestampMs) + signature }

    /// Why this announcement must be ignored at `nowMs`, or nil when it is valid.
    func rejection(nowMs: UInt64, freshnessMs: UInt64) -> String? {
        let skew = nowMs > timestampMs ? nowMs - timestampMs : timestampMs - nowMs
        if skew > freshnessMs { return "timestamp is \(skew) ms away from now" }
        if port == 0 { return "port 0" }
        let message = Self.domain + Self.signedBytes(node: node, port: port, timestampMs: timestampMs)
        if !NodeIdentity.verify(signature: signature, message: message, signer: node) { return "bad signature" }
        return nil
    }
}
