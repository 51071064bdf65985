/// Every encoded object starts with a format version and its kind; decoders reject any
/// other version so a future format can never be misread as this one.
enum ObjectHeader {
    static let version: UInt8 = 1

    static func write(_ kind: ObjectKind, version: UInt8 = version, into w: inout ByteWriter) {
        w.u8(version); w.u8(kind.rawValue)
    }

    static func read(_ kind: ObjectKind, from r: inout ByteReader) throws {
        _ = try read(kind, versions: version...version, from: &r)
    }

    /// Reads a header whose version may be any of `versions` (trees: 1 and 2), and returns it.
    static func read(_ kind: ObjectKind, versions: ClosedRange<UInt8>, from r: inout ByteReader) throws -> UInt8 {
        let v = try r.u8()
        guard versions.contains(v) else { throw r.fail("unknown format version \(v)") }
        let k = try r.u8()
        guard k == kind.rawValue else { throw r.fail("kind \(k) where \(kind) expected") }
        return v
    }
}

/// Limits applied while decoding, so hostile bytes cannot make a decoder allocate without bound.
package enum ObjectLimits {
    package static let maxTreeEntries = 1 << 20
    package static let maxNameBytes = 1024
    package static let maxSymlinkTarget = 4095
    package static let maxParents = 4096
    package static let maxMessageBytes = 1 << 20
    /// A git commit's bytes after its tree and parent lines (message, signatures, headers).
    package static let maxGitCommitBytes = 4 << 20
    package static let maxPersonBytes = 4096
    package static let maxManifestEntries = 8192
    package static let maxChunkSize = 16 << 20
    /// Directory levels below a commit's root tree (git's `core.maxTreeDepth` default): commit,
    /// import and pulls from peers refuse deeper trees.
    package static let maxTreeDepth = 4096
}
