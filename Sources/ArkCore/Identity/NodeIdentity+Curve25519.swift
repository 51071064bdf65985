import CSodium

extension NodeIdentity {
    /// The X25519 secret key derived from this node's ed25519 key
    /// (`crypto_sign_ed25519_sk_to_curve25519`). Used as the node's static key in the sync
    /// channel's Noise handshake, so a peer that knows only the endpoint id can compute the
    /// matching package key with `curve25519PublicKey(endpoint:)`.
    package var curve25519SecretKey: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_sign_ed25519_sk_to_curve25519(&out, secretKey)
        return out
    }

    /// The X25519 package key derived from an ed25519 endpoint id, or nil when the id is not a
    /// valid ed25519 package key.
    package static func curve25519PublicKey(endpoint: ObjectID) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_sign_ed25519_pk_to_curve25519(&out, endpoint.bytes) == 0 else { return nil }
        return out
    }
}
