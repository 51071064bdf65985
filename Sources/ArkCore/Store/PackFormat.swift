/// On-disk layout of a pack file: an 8-byte magic, then records of a 48-byte header
/// (magic "ARKR", kind, compression, reserved u16, raw length u32, stored length u32, id)
/// followed by the stored bytes. The headers make a pack self-describing, so the index can
/// be rebuilt from packs and `verify` can scan them.
public enum PackFormat {
    public static let fileMagic: [UInt8] = Array("ARKPACK1".utf8)
    public static let recordMagic: UInt32 = 0x41524B52 // "ARKR"
    public static let recordHeaderSize = 48
    /// Roll over to a new pack file beyond this size.
    public static let targetPackSize: UInt64 = 256 << 20

    /// How a record's bytes are stored. `zstdDelta`: the 32-byte id of a base object of the
    /// same kind, then a zstd frame compressed with the base's raw bytes as dictionary (used
    /// for trees, whose successive versions differ in a few entries).
    public enum Compression: UInt8, Sendable { case none = 0, zstd = 1, zstdDelta = 2 }

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
public struct ObjectLocation: Sendable, Equatable {
    public var pack: Int64
    public var offset: UInt64
    public var storedLength: Int
    public var rawLength: Int
    public var compression: PackFormat.Compression

    public init(pack: Int64, offset: UInt64, storedLength: Int, rawLength: Int, compression: PackFormat.Compression) {
        self.pack = pack; self.offset = offset; self.storedLength = storedLength
        self.rawLength = rawLength; self.compression = compression
    }
}
