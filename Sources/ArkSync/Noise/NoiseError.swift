/// Why a Noise handshake or transport operation failed. Any failure is fatal for the session:
/// the state refuses further use and the connection must be dropped.
package enum NoiseError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The protocol name is not `Noise_<pattern>_25519_ChaChaPoly_BLAKE2b` or names an unknown pattern.
    case unsupportedProtocol(String)
    /// A key the pattern needs was not supplied (or one was supplied with the wrong length).
    case missingKey(String)
    /// A message is too short, too long or otherwise not what the pattern expects.
    case malformedMessage(String)
    /// Authenticated decryption failed (tampered, reordered or wrong key).
    case decryptionFailed
    /// The Diffie-Hellman result was all zero (a low-order package key).
    case invalidPublicKey
    /// The 2^64-1 nonce limit was reached.
    case nonceExhausted
    /// Called out of turn: writing when it is the peer's turn, after completion, or after a failure.
    case wrongState(String)
    /// The handshake payload's identity binding did not verify.
    case identityBindingRejected(String)
    /// The peer's binding payload names another sync protocol version (see `NoiseIdentityBinding`).
    case protocolVersion(peer: UInt8, needed: UInt8)

    package var description: String {
        switch self {
        case .unsupportedProtocol(let name): "noise: unsupported protocol \(name)"
        case .missingKey(let what): "noise: missing or invalid key: \(what)"
        case .malformedMessage(let what): "noise: malformed message: \(what)"
        case .decryptionFailed: "noise: decryption failed"
        case .invalidPublicKey: "noise: Diffie-Hellman with an invalid (low-order) package key"
        case .nonceExhausted: "noise: nonce exhausted"
        case .wrongState(let what): "noise: \(what)"
        case .identityBindingRejected(let what): "noise: identity binding rejected: \(what)"
        case .protocolVersion(let peer, let needed): "speaks sync protocol \(peer); this node needs \(needed)"
        }
    }
}

extension NoiseError {
    var isProtocolVersion: Bool { if case .protocolVersion = self { true } else { false } }
}
