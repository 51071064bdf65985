/// On-disk layout of a pack file: an 8-byte magic, then records of a 48-byte header
/// (magic "ARKR", kind, compression, reserved u16, raw length u32, stored length u32, id)
/// followed by the stored bytes. The headers make a pack self-describing, so the index can
/// be rebuilt from packs and `verify` can scan them.
package enum PackFormat {
    package static let fileMagic: [UInt8] = Array("ARKPACK1".utf8)
    package static let recordMagic: UInt32 = 0x41524B52  // "ARKR"
    package static let recordHeaderSize = 48
    /// Roll over to a new pack file beyond this size.
    package static let targetPackSize: UInt64 = 256 << 20
    /// The same for a store whose packs go to a bucket: an upload batch (64 MiB) is a few such
    /// packs, each one PUT (`Repository.upload` sends them `uploadsInFlight` at a time), as
    /// restic's packs are (16 MiB).
    package static let bucketPackSize: UInt64 = 16 << 20

    /// How a record's bytes are stored. `zstdDelta`: the 32-byte id of a base object of the
    /// same kind, then a zstd frame compressed with the base's raw bytes as dictionary (used
    /// for trees, whose successive versions differ in a few entries).
    package enum Compression: UInt8, Sendable { case none = 0, zstd = 1, zstdDelta = 2 }

    static func header(kind: ObjectKind, compression: Compression, rawLength: Int, storedLength: Int, id: ObjectID) -> [UInt8] {
        var w = ByteWriter(capacity: recordHeaderSize)
        withUnsafeBytes(of: recordMagic.bigEndian) { w.bytes.append(contentsOf: $0) }
        w.u8(kind.rawValue); w.u8(compression.rawValue); w.u8(0); w.u8(0)
        withUnsafeBytes(of: UInt32(rawLength).bigEndian) { w.bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(storedLength).bigEndian) { w.bytes.append(contentsOf: $0) }
        w.id(id)
        return w.bytes
    }
}

/// Where an object's bytes live.
package struct ObjectLocation: Sendable, Equatable {
    package var pack: Int64
    package var offset: UInt64
    package var storedLength: Int
    package var rawLength: Int
    package var compression: PackFormat.Compression

    package init(pack: Int64, offset: UInt64, storedLength: Int, rawLength: Int, compression: PackFormat.Compression) {
        self.pack = pack; self.offset = offset; self.storedLength = storedLength
        self.rawLength = rawLength; self.compression = compression
    }
}
