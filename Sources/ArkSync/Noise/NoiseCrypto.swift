import ArkCore
import CSodium

/// The primitives of `Noise_*_25519_ChaChaPoly_BLAKE2b` (Noise spec rev 34, sections 4 and 12),
/// all on libsodium.
package enum NoiseCrypto {
    package static let dhLength = 32
    package static let keyLength = 32
    package static let hashLength = 64
    package static let blockLength = 128
    package static let tagLength = 16
    /// Largest Noise message (handshake or transport), in bytes.
    package static let maxMessageLength = 65535

    /// An X25519 key pair.
    package struct KeyPair: Sendable {
        package let secretKey: [UInt8]
        package let publicKey: [UInt8]

        /// The pair for a given 32-byte secret key (used for test vectors and derived keys).
        package init(secretKey: [UInt8]) throws {
            guard secretKey.count == 32 else { throw NoiseError.missingKey("X25519 secret key must be 32 bytes") }
            precondition(Sodium.ready, "libsodium failed to initialize")
            var pk = [UInt8](repeating: 0, count: 32)
            guard crypto_scalarmult_base(&pk, secretKey) == 0 else { throw NoiseError.invalidPublicKey }
            self.secretKey = secretKey
            self.publicKey = pk
        }

        /// A fresh random key pair.
        package static func generate() -> KeyPair {
            // A random scalar never yields a failing base multiplication in practice; retry if it does.
            while true {
                if let pair = try? KeyPair(secretKey: Sodium.randomBytes(32)) { return pair }
            }
        }
    }

    /// X25519. An all-zero result (low-order peer key) is an error, never a key.
    package static func dh(_ pair: KeyPair, _ publicKey: [UInt8]) throws -> [UInt8] {
        guard publicKey.count == 32 else { throw NoiseError.missingKey("X25519 package key must be 32 bytes") }
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult(&out, pair.secretKey, publicKey) == 0 else { throw NoiseError.invalidPublicKey }
        return out
    }

    /// Noise nonce encoding for ChaChaPoly: 4 zero bytes then the 64-bit counter little-endian.
    static func nonce(_ n: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { out[4 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        return out
    }

    static func encrypt(key: [UInt8], nonce n: UInt64, ad: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var outLength: UInt64 = 0
        let npub = nonce(n)
        crypto_aead_chacha20poly1305_ietf_encrypt(
            &out, &outLength, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, npub, key)
        return out
    }

    static func decrypt(key: [UInt8], nonce n: UInt64, ad: [UInt8], ciphertext: [UInt8]) throws -> [UInt8] {
        guard ciphertext.count >= tagLength else { throw NoiseError.malformedMessage("ciphertext shorter than its tag") }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var outLength: UInt64 = 0
        let npub = nonce(n)
        let rc = crypto_aead_chacha20poly1305_ietf_decrypt(
            &out, &outLength, nil, ciphertext, UInt64(ciphertext.count), ad, UInt64(ad.count), npub, key)
        guard rc == 0 else { throw NoiseError.decryptionFailed }
        return out
    }

    /// BLAKE2b-512.
    package static func hash(_ data: [UInt8]) -> [UInt8] { Sodium.blake2b(data, outputLength: hashLength) }

    /// HMAC (RFC 2104) over BLAKE2b-512 with a 128-byte block, as Noise defines it. Keyed BLAKE2b
    /// is a different function and would not match other implementations.
    package static func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var k = key.count > blockLength ? hash(key) : key
        k += [UInt8](repeating: 0, count: blockLength - k.count)
        let inner = hash(k.map { $0 ^ 0x36 } + data)
        return hash(k.map { $0 ^ 0x5c } + inner)
    }

    /// Noise's HKDF (section 4.3): two or three 64-byte outputs from a chaining key and input key material.
    package static func hkdf(chainingKey: [UInt8], inputKeyMaterial: [UInt8], outputs: Int) -> [[UInt8]] {
        precondition(outputs == 2 || outputs == 3)
        let tempKey = hmac(key: chainingKey, data: inputKeyMaterial)
        let o1 = hmac(key: tempKey, data: [0x01])
        let o2 = hmac(key: tempKey, data: o1 + [0x02])
        if outputs == 2 { return [o1, o2] }
        return [o1, o2, hmac(key: tempKey, data: o2 + [0x03])]
    }
}
