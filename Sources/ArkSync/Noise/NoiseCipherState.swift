/// A Noise CipherState (spec section 5.1): a ChaChaPoly key and a 64-bit nonce counter.
/// After the handshake, `Split()` yields one for each direction of the transport.
package struct NoiseCipherState: Sendable {
    private(set) var key: [UInt8]?
    /// The next nonce. 2^64-1 is reserved (used only by `rekey`), so it is never used to encrypt.
    package private(set) var nonce: UInt64 = 0

    init(key: [UInt8]? = nil) { self.key = key }

    package var hasKey: Bool { key != nil }

    mutating func initializeKey(_ key: [UInt8]?) {
        self.key = key
        nonce = 0
    }

    /// Encrypts with associated data; without a key (early handshake) returns the plaintext.
    package mutating func encrypt(ad: [UInt8] = [], _ plaintext: [UInt8]) throws -> [UInt8] {
        guard let key else { return plaintext }
        guard nonce < UInt64.max else { throw NoiseError.nonceExhausted }
        let out = NoiseCrypto.encrypt(key: key, nonce: nonce, ad: ad, plaintext: plaintext)
        nonce += 1
        return out
    }

    /// Decrypts and authenticates; the nonce advances only on success.
    package mutating func decrypt(ad: [UInt8] = [], _ ciphertext: [UInt8]) throws -> [UInt8] {
        guard let key else { return ciphertext }
        guard nonce < UInt64.max else { throw NoiseError.nonceExhausted }
        let out = try NoiseCrypto.decrypt(key: key, nonce: nonce, ad: ad, ciphertext: ciphertext)
        nonce += 1
        return out
    }

    /// `REKEY` (section 4.2): the new key is the first 32 bytes of encrypting 32 zero bytes with nonce 2^64-1.
    package mutating func rekey() throws {
        guard let key else { throw NoiseError.wrongState("rekey without a key") }
        let out = NoiseCrypto.encrypt(key: key, nonce: UInt64.max, ad: [], plaintext: [UInt8](repeating: 0, count: 32))
        self.key = Array(out.prefix(32))
    }
}

/// A Noise SymmetricState (section 5.2): chaining key `ck`, handshake hash `h` and a CipherState.
struct NoiseSymmetricState: Sendable {
    private(set) var chainingKey: [UInt8]
    private(set) var handshakeHash: [UInt8]
    private(set) var cipher = NoiseCipherState()

    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        if name.count <= NoiseCrypto.hashLength {
            handshakeHash = name + [UInt8](repeating: 0, count: NoiseCrypto.hashLength - name.count)
        } else {
            handshakeHash = NoiseCrypto.hash(name)
        }
        chainingKey = handshakeHash
    }

    mutating func mixKey(_ inputKeyMaterial: [UInt8]) {
        let out = NoiseCrypto.hkdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial, outputs: 2)
        chainingKey = out[0]
        cipher.initializeKey(Array(out[1].prefix(NoiseCrypto.keyLength)))
    }

    mutating func mixHash(_ data: [UInt8]) {
        handshakeHash = NoiseCrypto.hash(handshakeHash + data)
    }

    mutating func mixKeyAndHash(_ inputKeyMaterial: [UInt8]) {
        let out = NoiseCrypto.hkdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial, outputs: 3)
        chainingKey = out[0]
        mixHash(out[1])
        cipher.initializeKey(Array(out[2].prefix(NoiseCrypto.keyLength)))
    }

    var hasKey: Bool { cipher.hasKey }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws -> [UInt8] {
        let out = try cipher.encrypt(ad: handshakeHash, plaintext)
        mixHash(out)
        return out
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws -> [UInt8] {
        let out = try cipher.decrypt(ad: handshakeHash, ciphertext)
        mixHash(ciphertext)
        return out
    }

    /// `Split()`: the initiator-to-responder and responder-to-initiator CipherStates.
    func split() -> (NoiseCipherState, NoiseCipherState) {
        let out = NoiseCrypto.hkdf(chainingKey: chainingKey, inputKeyMaterial: [], outputs: 2)
        return (NoiseCipherState(key: Array(out[0].prefix(32))), NoiseCipherState(key: Array(out[1].prefix(32))))
    }
}
