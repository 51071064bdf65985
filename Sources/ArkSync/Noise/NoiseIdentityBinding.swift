import ArkCore

/// Binds a node's Noise static key (X25519) to its ed25519 endpoint id, carried as a handshake
/// payload: `version ‖ ed25519 package key (32) ‖ ed25519 signature (64)` over
/// `"ark-noise-static-key:" ‖ x25519 static package key`. The version byte is the sync protocol
/// version: 2 since tree format v2 (names as bytes, modes, mtimes), which a node of protocol 1
/// cannot decode, so both sides of a mixed pair refuse the handshake, naming the version.
///
/// Where the static key comes from: ark derives it deterministically from the node's ed25519
/// secret key (`crypto_sign_ed25519_sk_to_curve25519`, see `NodeIdentity.curve25519SecretKey`).
/// Remotes are declared in config by endpoint id only, so an XK initiator computes the
/// responder's static package key from that id with `crypto_sign_ed25519_pk_to_curve25519` and
/// never needs it sent. The signature still travels, so a receiver checks both that the static
/// is the one derived from the claimed id and that the id's key signed it; either check alone
/// failing rejects the peer.
package struct NoiseIdentityBinding: Sendable, Equatable {
    package static let domainTag: [UInt8] = Array("ark-noise-static-key:".utf8)
    package static let version: UInt8 = 2
    package static let encodedLength = 1 + 32 + 64

    package let endpointID: ObjectID
    package let signature: [UInt8]

    package init(endpointID: ObjectID, signature: [UInt8]) {
        self.endpointID = endpointID
        self.signature = signature
    }

    /// Signs `staticPublicKey` with `identity`.
    package init(identity: NodeIdentity, staticPublicKey: [UInt8]) {
        endpointID = identity.endpointID
        signature = identity.sign(Self.domainTag + staticPublicKey)
    }

    package var encoded: [UInt8] { [Self.version] + endpointID.bytes + signature }

    /// Strict decoding: exact length and version.
    package init(decoding payload: [UInt8]) throws {
        guard payload.count == Self.encodedLength else {
            throw NoiseError.identityBindingRejected("payload is \(payload.count) bytes, expected \(Self.encodedLength)")
        }
        guard payload[0] == Self.version else {
            throw NoiseError.protocolVersion(peer: payload[0], needed: Self.version)
        }
        endpointID = ObjectID(bytes: payload[1..<33])
        signature = Array(payload[33...])
    }

    /// Checks the signature over `staticPublicKey`, that the static is the one derived from the
    /// endpoint id (unless `requireDerivedStatic` is false), and, when given, that the endpoint
    /// is the expected one. Throws `NoiseError.identityBindingRejected` naming the failed check.
    package func verify(
        staticPublicKey: [UInt8], expectedEndpoint: ObjectID? = nil,
        requireDerivedStatic: Bool = true
    ) throws {
        if let expectedEndpoint, expectedEndpoint != endpointID {
            throw NoiseError.identityBindingRejected("peer is \(endpointID.short), expected \(expectedEndpoint.short)")
        }
        guard NodeIdentity.verify(signature: signature, message: Self.domainTag + staticPublicKey, signer: endpointID) else {
            throw NoiseError.identityBindingRejected("signature by \(endpointID.short) does not cover this static key")
        }
        if requireDerivedStatic {
            guard let derived = NodeIdentity.curve25519PublicKey(endpoint: endpointID), derived == staticPublicKey else {
                throw NoiseError.identityBindingRejected("static key is not the one derived from \(endpointID.short)")
            }
        }
    }

    /// Decodes and verifies a handshake payload against the peer's authenticated static key;
    /// returns the peer's endpoint id.
    @discardableResult
    package static func verify(payload: [UInt8], remoteStatic: [UInt8]?, expectedEndpoint: ObjectID? = nil) throws -> ObjectID {
        guard let remoteStatic else { throw NoiseError.identityBindingRejected("no remote static key in this handshake") }
        let binding = try NoiseIdentityBinding(decoding: payload)
        try binding.verify(staticPublicKey: remoteStatic, expectedEndpoint: expectedEndpoint)
        return binding.endpointID
    }
}

/// ark's secure channel handshake: `Noise_XK_25519_ChaChaPoly_BLAKE2b` with static keys derived
/// from the nodes' ed25519 identities. Message 1 carries no payload; message 2 carries the
/// responder's binding, message 3 the initiator's. The responder learns who connected only when
/// message 3 decrypts and its binding verifies (key confirmation); admit the peer only then.
package enum ArkNoise {
    package static let protocolName = "Noise_XK_25519_ChaChaPoly_BLAKE2b"
    package static let prologue: [UInt8] = Array("ark/sync/v1".utf8)

    package static func staticKeyPair(for identity: NodeIdentity) throws -> NoiseCrypto.KeyPair {
        try NoiseCrypto.KeyPair(secretKey: identity.curve25519SecretKey)
    }

    /// The static key an initiator expects for `endpoint`, computed from the id alone.
    package static func staticPublicKey(for endpoint: ObjectID) throws -> [UInt8] {
        guard let key = NodeIdentity.curve25519PublicKey(endpoint: endpoint) else {
            throw NoiseError.missingKey("endpoint id \(endpoint.short) is not a valid ed25519 package key")
        }
        return key
    }

    package static func initiator(
        identity: NodeIdentity, responder: ObjectID,
        ephemeral: NoiseCrypto.KeyPair? = nil
    ) throws -> NoiseHandshake {
        try NoiseHandshake(
            protocolName: protocolName, initiator: true, prologue: prologue,
            localStatic: staticKeyPair(for: identity), localEphemeral: ephemeral,
            remoteStatic: staticPublicKey(for: responder))
    }

    package static func responder(identity: NodeIdentity, ephemeral: NoiseCrypto.KeyPair? = nil) throws -> NoiseHandshake {
        try NoiseHandshake(
            protocolName: protocolName, initiator: false, prologue: prologue,
            localStatic: staticKeyPair(for: identity), localEphemeral: ephemeral)
    }

    /// The handshake payload binding `identity` to its derived static key.
    package static func bindingPayload(for identity: NodeIdentity) throws -> [UInt8] {
        NoiseIdentityBinding(identity: identity, staticPublicKey: try staticKeyPair(for: identity).publicKey).encoded
    }
}
