import CSodium
import Glibc

/// This node's ed25519 key pair (libsodium). The endpoint id is the hex package key.
package struct NodeIdentity: Sendable {
    package let endpointID: ObjectID
    /// libsodium's 64-byte ed25519 secret key (seed followed by package key).
    let secretKey: [UInt8]

    /// Loads `<store>/node.key`, creating it (mode 0600) when there is none and `mayCreate`,
    /// and rewrites `<store>/endpoint_id` when it is missing or wrong. A missing key that may
    /// not be created, and a key that cannot be read (a symlink, a directory, unreadable, of the
    /// wrong size, or whose package half does not match its seed), are one-line errors, and so is
    /// a key of another node than `expected`.
    package static func loadOrCreate(store: String, mayCreate: Bool = true, expected: ObjectID? = nil) throws -> NodeIdentity {
        precondition(ObjectHasher.initialized)
        let keyPath = store + "/node.key"
        let identity: NodeIdentity
        if let existing = try load(keyPath) {
            identity = existing
        } else {
            guard mayCreate else {
                let owner = expected.map { "node \($0.hex)" } ?? "the node that wrote it"
                throw ArkError(
                    .missing,
                    "node key \(keyPath) is missing and this store holds data of \(owner); restore node.key from a backup (a new key would start an unrelated history)"
                )
            }
            var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
            var sk = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
            crypto_sign_keypair(&pk, &sk)
            // link() fails if another process created the key meanwhile: then use theirs.
            if try FileDescriptor.createStoreFile(keyPath, sk, mode: 0o600, directory: store) {
                identity = NodeIdentity(endpointID: ObjectID(bytes: pk), secretKey: sk)
            } else if let theirs = try load(keyPath) {
                identity = theirs
            } else {
                throw ArkError(.io, "node key \(keyPath) could not be created: the name appeared and vanished again")
            }
        }
        if let expected, identity.endpointID != expected {
            throw ArkError(
                .invalidArgument,
                "node key \(keyPath) is node \(identity.endpointID.hex), but this store was written by node \(expected.hex); restore that node's node.key from a backup"
            )
        }
        // Written when missing or wrong, not on every open: each write costs an fsync, which
        // every command (and a mount's start) would otherwise wait for.
        let idFile = Array((identity.endpointID.hex + "\n").utf8)
        let idPath = store + "/endpoint_id"
        if (try? FileDescriptor.readStoreFile(idPath, what: "endpoint id")) != idFile {
            try FileDescriptor.replaceStoreFile(idPath, idFile)
        }
        return identity
    }

    /// The key at `path`, nil if there is none.
    private static func load(_ path: String) throws -> NodeIdentity? {
        guard let sk = try FileDescriptor.readStoreFile(path, what: "node key", expectedCount: Int(crypto_sign_secretkeybytes())) else {
            return nil
        }
        // libsodium's secret key is the seed followed by the package key: both halves must agree.
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        var derived = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
        crypto_sign_seed_keypair(&pk, &derived, sk)
        guard sodium_memcmp(derived, sk, sk.count) == 0 else {
            throw ArkError(
                .corrupt, "node key \(path) is damaged (its package key does not match its seed); restore node.key from a backup")
        }
        return NodeIdentity(endpointID: ObjectID(bytes: pk), secretKey: sk)
    }

    package func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        crypto_sign_detached(&sig, nil, message, UInt64(message.count), secretKey)
        return sig
    }

    package static func verify(signature: [UInt8], message: [UInt8], signer: ObjectID) -> Bool {
        guard signature.count == Int(crypto_sign_bytes()) else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), signer.bytes) == 0
    }
}
