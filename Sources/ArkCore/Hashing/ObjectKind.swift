/// The kinds of object in the Merkle DAG. The raw value is stored in the index and in pack
/// records; the personalization separates the hash domains so a chunk can never be
/// confused with a tree that has the same bytes.
public enum ObjectKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case chunk = 1
    case manifest = 2
    case tree = 3
    case commit = 4

    /// 16-byte BLAKE2b personalization (libsodium `crypto_generichash_blake2b_*_salt_personal`).
    var personal: [UInt8] {
        let tag: String =
            switch self {
            case .chunk: "ark.chunk.v1"
            case .manifest: "ark.manifest.v1"
            case .tree: "ark.tree.v1"
            case .commit: "ark.commit.v1"
            }
        var p = Array(tag.utf8)
        p.append(contentsOf: repeatElement(0, count: 16 - p.count))
        return p
    }

    public var description: String {
        switch self {
        case .chunk: "chunk"
        case .manifest: "manifest"
        case .tree: "tree"
        case .commit: "commit"
        }
    }
}
