/// Reads the record headers of a pack (`PackFormat`) to list its records without the index:
/// how `repair index` rebuilds it from packs. The pack is read through a closure (a local
/// file or ranged reads of a bucket object) in windows, so records smaller than a window cost
/// no extra read and larger ones are skipped over.
enum PackScanner {
    /// The record a 48-byte header describes, its stored bytes at `dataOffset`; nil when the
    /// bytes are not a valid header.
    static func parseHeader(_ h: ArraySlice<UInt8>, dataOffset: UInt64, packName: String) -> PackWriter.Pending? {
        guard h.count == PackFormat.recordHeaderSize else { return nil }
        let b = Array(h)
        func u32(_ at: Int) -> UInt32 { UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3]) }
        guard u32(0) == PackFormat.recordMagic, let kind = ObjectKind(rawValue: b[4]),
            let compression = PackFormat.Compression(rawValue: b[5]), b[6] == 0, b[7] == 0
        else { return nil }
        let raw = Int(u32(8)), stored = Int(u32(12))
        if compression == .none && raw != stored { return nil }
        let id = ObjectID(bytes: b[16..<48])
        return PackWriter.Pending(
            id: id, kind: kind, packName: packName,
            location: ObjectLocation(pack: 0, offset: dataOffset, storedLength: stored, rawLength: raw, compression: compression))
    }

    /// The records of pack `name` (`size` bytes), in order. `complete` is false when the scan
    /// stopped early at bytes that are not a record (a torn tail of a pack whose writer died,
    /// or damage): the records before them are still listed.
    static func scan(
        name: String, size: UInt64, window: Int = 1 << 20, read: (_ offset: UInt64, _ length: Int) throws -> [UInt8]
    ) throws -> (records: [PackWriter.Pending], complete: Bool) {
        let magic = PackFormat.fileMagic
        guard size >= UInt64(magic.count) else { return ([], false) }
        var buffer = try read(0, Int(min(UInt64(window), size)))
        var bufferStart: UInt64 = 0
        guard buffer.count >= magic.count, Array(buffer[0..<magic.count]) == magic else { return ([], false) }
        var records: [PackWriter.Pending] = []
        var pos = UInt64(magic.count)
        let headerSize = UInt64(PackFormat.recordHeaderSize)
        while pos < size {
            guard pos + headerSize <= size else { return (records, false) }
            if pos < bufferStart || pos + headerSize > bufferStart + UInt64(buffer.count) {
                buffer = try read(pos, Int(min(UInt64(window), size - pos)))
                bufferStart = pos
                guard buffer.count >= Int(headerSize) else { return (records, false) }
            }
            let at = Int(pos - bufferStart)
            guard let r = parseHeader(buffer[at..<(at + Int(headerSize))], dataOffset: pos + headerSize, packName: name) else {
                return (records, false)
            }
            let end = r.location.offset + UInt64(r.location.storedLength)
            guard end <= size else { return (records, false) }
            records.append(r)
            pos = end
        }
        return (records, true)
    }
}
