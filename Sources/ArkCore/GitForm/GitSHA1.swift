import CArkSHA1

/// SHA-1 as git names objects with it: an object's id is the hash of `<type> <size>\0` and its
/// content. Computed by the small C implementation in CArkSHA1 (see sha1.c for the choice).
package struct GitSHA1 {
    private var ctx = ark_sha1_ctx()

    package init() { ark_sha1_init(&ctx) }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        ark_sha1_update(&ctx, base, bytes.count)
    }

    package mutating func update(_ bytes: some Sequence<UInt8>) {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) { return done }
        let copy = Array(bytes)
        copy.withUnsafeBytes { update($0) }
    }

    /// The 20-byte digest; the hasher must not be used afterwards.
    package mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        out.withUnsafeMutableBufferPointer { ark_sha1_final(&ctx, $0.baseAddress!) }
        return out
    }

    package static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = GitSHA1()
        h.update(bytes)
        return h.finish()
    }

    /// The header git hashes before an object's content: `<type> <size>\0`.
    package static func header(_ type: GitObjectType, size: UInt64) -> [UInt8] {
        Array("\(type.name) \(size)".utf8) + [0]
    }

    /// The git id of an object of `type` with `content`.
    package static func objectID(_ type: GitObjectType, _ content: [UInt8]) -> [UInt8] {
        var h = GitSHA1()
        h.update(header(type, size: UInt64(content.count)))
        h.update(content)
        return h.finish()
    }
}

/// git's object types, with their numbers in a pack file.
package enum GitObjectType: UInt8, Sendable {
    case commit = 1, tree = 2, blob = 3, tag = 4

    package var name: String {
        switch self {
        case .commit: "commit"
        case .tree: "tree"
        case .blob: "blob"
        case .tag: "tag"
        }
    }
}
