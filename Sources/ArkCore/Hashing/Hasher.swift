import CSodium

/// BLAKE2b-256 with per-kind personalization, through libsodium (`crypto_generichash`).
public enum ObjectHasher {
    static var initialized: Bool { Sodium.ready }

    private static let personals: [[UInt8]] = {
        var table = [[UInt8]](repeating: [], count: 5)
        for k in ObjectKind.allCases { table[Int(k.rawValue)] = k.personal }
        return table
    }()

    public static func hash(_ kind: ObjectKind, _ data: UnsafeRawBufferPointer) -> ObjectID {
        precondition(initialized, "libsodium failed to initialize")
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        personals[Int(kind.rawValue)].withUnsafeBufferPointer { personal in
            withUnsafeMutableBytes(of: &out) { o in
                _ = crypto_generichash_blake2b_salt_personal(
                    o.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
                    data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count),
                    nil, 0, nil, personal.baseAddress)
            }
        }
        return withUnsafeBytes(of: &out) { ObjectID(unsafeBytes: $0) }
    }

    public static func hash(_ kind: ObjectKind, _ data: [UInt8]) -> ObjectID {
        data.withUnsafeBytes { hash(kind, $0) }
    }

    /// BLAKE2b-256 of `data` with `personal` (at most 16 bytes, zero-padded) as the
    /// personalization: checksums of store files that are not objects, in hash domains apart
    /// from every object kind's.
    package static func checksum(_ personal: String, _ data: [UInt8]) -> [UInt8] {
        precondition(initialized, "libsodium failed to initialize")
        var p = Array(personal.utf8)
        precondition(p.count <= 16, "a BLAKE2b personalization is at most 16 bytes")
        p += [UInt8](repeating: 0, count: 16 - p.count)
        var out = [UInt8](repeating: 0, count: 32)
        _ = data.withUnsafeBufferPointer { d in
            crypto_generichash_blake2b_salt_personal(&out, 32, d.baseAddress, UInt64(d.count), nil, 0, nil, p)
        }
        return out
    }
}
