import ArkCore
import CSodium

/// The libsodium calls of this module; `Sodium.ready` (ArkCore) initializes the library once.
extension Sodium {
    static func randomBytes(_ count: Int) -> [UInt8] {
        precondition(ready, "libsodium failed to initialize")
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// BLAKE2b with the given output length (16...64) and no key.
    static func blake2b(_ data: [UInt8], outputLength: Int) -> [UInt8] {
        precondition(ready, "libsodium failed to initialize")
        var out = [UInt8](repeating: 0, count: outputLength)
        crypto_generichash(&out, outputLength, data, UInt64(data.count), nil, 0)
        return out
    }
}
