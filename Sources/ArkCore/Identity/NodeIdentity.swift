import CSodium
#if canImport(Glibc)
import Glibc
#endif

/// This node's ed25519 key pair (libsodium). The endpoint id is the hex public key.
public struct NodeIdentity: Sendable {
    public let endpointID: ObjectID
    /// libsodium's 64-byte ed25519 secret key (seed followed by public key).
    let secretKey: [UInt8]

    /// Loads `<store>/node.key`, creating it (mode 0600) on first use, and rewrites
    /// `<store>/endpoint_id`.
    public static func loadOrCreate(store: String) throws -> NodeIdentity {
        precondition(ObjectHasher.initialized)
        let keyPath = store + "/node.key"
        let identity: NodeIdentity
        if let data = try? readFile(keyPath) {
            guard data.count == Int(crypto_sign_secretkeybytes()) else {
                throw ArkError(.corrupt, "\(keyPath) is \(data.count) bytes, expected \(crypto_sign_secretkeybytes()); restore it from a backup")
            }
            var pk = [UInt8](repeating: 0, count: 32)
            crypto_sign_ed25519_sk_to_pk(&pk, data)
            identity = NodeIdentity(endpointID: ObjectID(bytes: pk), secretKey: data)
        } else {
            var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
            var sk = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
            crypto_sign_keypair(&pk, &sk)
            // A name of this process's own: with a shared one, two processes opening a new
            // store at once could each link the other's key and keep their own in memory.
            let tmp = keyPath + ".tmp.\(getpid())"
            unlink(tmp)
            let fd = try FileDescriptor(open: tmp, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try sk.withUnsafeBytes { try fd.writeAll($0) }
            try fd.sync()
            // link() fails if another process created the key meanwhile: then use theirs.
            if link(tmp, keyPath) != 0 {
                unlink(tmp)
                return try loadOrCreate(store: store)
            }
            unlink(tmp)
            try FileDescriptor.syncDirectory(store)
            identity = NodeIdentity(endpointID: ObjectID(bytes: pk), secretKey: sk)
        }
        // Written when missing or wrong, not on every open: each write costs an fsync, which
        // every command (and a mount's start) would otherwise wait for.
        let idFile = Array((identity.endpointID.hex + "\n").utf8)
        if (try? readFile(store + "/endpoint_id")) != idFile {
            try writeFileAtomically(store + "/endpoint_id", idFile)
        }
        return identity
    }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        crypto_sign_detached(&sig, nil, message, UInt64(message.count), secretKey)
        return sig
    }

    public static func verify(signature: [UInt8], message: [UInt8], signer: ObjectID) -> Bool {
        guard signature.count == Int(crypto_sign_bytes()) else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), signer.bytes) == 0
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    let fd = try FileDescriptor(open: path, flags: O_RDONLY)
    let size = Int(try fd.size())
    var out = [UInt8](repeating: 0, count: size)
    try out.withUnsafeMutableBytes { try fd.pread(into: $0, at: 0) }
    return out
}

func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
    let tmp = path + ".tmp.\(getpid())"
    let fd = try FileDescriptor(open: tmp, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
    try bytes.withUnsafeBytes { try fd.writeAll($0) }
    try fd.sync()
    try syscall("rename \(tmp)") { rename(tmp, path) }
}
