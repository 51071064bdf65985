/// What a file looked like when it was last chunked, so an unchanged file is not read again.
package struct StatKey: Equatable, Sendable {
    package var dev: Int64, ino: Int64, size: Int64, mtimeNs: Int64, ctimeNs: Int64
}

/// The stat cache of the files directly in one directory: a few `stat_dirs` rows read by one
/// lookup when a commit enters the directory. A file costs about 72 bytes of index, 61 of them
/// payload (its name shares the prefix of the one before, times are deltas, the device is the
/// row's), against 149 for a row per file keyed by its whole path.
///
/// A row's encoding (ark's varints, `ByteWriter`): a version byte (1), the first entry's
/// device (zig-zag), then per entry in name order: the length of the prefix shared with the
/// previous name, the rest of the name (length-prefixed), device minus the row's, inode,
/// size, mtime minus the previous entry's mtime, ctime minus the entry's mtime (zig-zag,
/// wrapping), and the 32-byte manifest id. Last come 16 bytes of a BLAKE2b-256 checksum
/// (personalization `ark.statdir.v1`) of the directory's path, the part number and the body:
/// a row that is damaged, or lands under another directory's path, adds nothing (its files
/// are read again), never a wrong manifest.
package struct StatDirectory: Sendable {
    private var entries: [[UInt8]: (StatKey, ObjectID)] = [:]

    static let version: UInt8 = 1
    static let personal = "ark.statdir.v1"
    static let checksumSize = 16
    /// A row's body is cut after the entry that reaches this size.
    static let partSize = 800
    /// Names are at most 255 bytes on Linux; more is a damaged row.
    static let maxName = 4096

    package init() {}

    package var count: Int { entries.count }
    package var isEmpty: Bool { entries.isEmpty }

    /// The cached manifest of `name` if its stat data is still `key`.
    package func hit(_ name: [UInt8], _ key: StatKey) -> ObjectID? {
        guard let (cached, manifest) = entries[name], cached == key else { return nil }
        return manifest
    }

    /// Whether `name` has an entry (whatever its stat data).
    package func contains(_ name: [UInt8]) -> Bool { entries[name] != nil }

    /// Records `name` (replacing what it had).
    mutating func set(_ name: [UInt8], _ key: StatKey, _ manifest: ObjectID) { entries[name] = (key, manifest) }

    /// Keeps only the entries `keep` accepts (by name and manifest); returns whether any went.
    mutating func keepEntries(_ keep: (_ name: [UInt8], _ manifest: ObjectID) throws -> Bool) rethrows -> Bool {
        let before = entries.count
        entries = try entries.filter { try keep($0.key, $0.value.1) }
        return entries.count != before
    }

    /// The rows of the directory at `path`, in part order: each holds the entries that come
    /// next in name order up to about `partSize` bytes, so rows stay small enough for SQLite
    /// to keep four in a page (one larger row would take a page, or more, to itself).
    func encodedParts(path: [UInt8]) -> [[UInt8]] {
        let sorted = entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var parts: [[UInt8]] = []
        var at = 0
        while at < sorted.count {
            var w = ByteWriter(capacity: Self.partSize + 64)
            let baseDev = sorted[at].value.0.dev
            w.u8(Self.version)
            w.svarint(baseDev)
            var previousName: [UInt8] = []
            var previousMtime: Int64 = 0
            while at < sorted.count, w.bytes.count < Self.partSize {
                let (name, (key, manifest)) = sorted[at]
                let shared = zip(previousName, name).prefix { $0 == $1 }.count
                w.varint(UInt64(shared))
                w.data(name[shared...])
                w.svarint(key.dev &- baseDev)
                w.varint(UInt64(bitPattern: key.ino))
                w.varint(UInt64(bitPattern: key.size))
                w.svarint(key.mtimeNs &- previousMtime)
                w.svarint(key.ctimeNs &- key.mtimeNs)
                w.id(manifest)
                previousName = name
                previousMtime = key.mtimeNs
                at += 1
            }
            parts.append(w.bytes + Self.checksum(path: path, part: parts.count, w.bytes))
        }
        return parts
    }

    /// Adds the entries of part `part` of the directory at `path`; throws `.malformed` when
    /// the row does not decode or its checksum does not match (the entries it did add stay:
    /// a damaged row's own are never added).
    mutating func add(decoding row: [UInt8], path: [UInt8], part: Int) throws {
        let what = "stat cache row \(part) of \(EntryPath(bytes: path))"
        guard row.count > Self.checksumSize else { throw ArkError(.malformed, "\(what) is truncated") }
        let body = Array(row[..<(row.count - Self.checksumSize)])
        guard Self.checksum(path: path, part: part, body)[...] == row[(row.count - Self.checksumSize)...] else {
            throw ArkError(.malformed, "\(what) does not match its checksum")
        }
        var r = ByteReader(body, what: what)
        guard try r.u8() == Self.version else { throw r.fail("unknown version") }
        let baseDev = try r.svarint()
        var name: [UInt8] = []
        var mtime: Int64 = 0
        var decoded: [([UInt8], StatKey, ObjectID)] = []
        while !r.isAtEnd {
            let shared = try r.count(max: name.count, "shared name prefix")
            name = Array(name[..<shared]) + (try r.data(max: Self.maxName, "name"))
            let dev = baseDev &+ (try r.svarint())
            let ino = Int64(bitPattern: try r.varint())
            let size = Int64(bitPattern: try r.varint())
            mtime = mtime &+ (try r.svarint())
            let ctime = mtime &+ (try r.svarint())
            decoded.append((name, StatKey(dev: dev, ino: ino, size: size, mtimeNs: mtime, ctimeNs: ctime), try r.id()))
        }
        for (name, key, manifest) in decoded { entries[name] = (key, manifest) }
    }

    /// BLAKE2b-256 of the row's directory, its part number and its body, cut to 16 bytes.
    static func checksum(path: [UInt8], part: Int, _ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: path.count + body.count + 12)
        w.data(path)
        w.varint(UInt64(part))
        w.bytes += body
        return Array(ObjectHasher.checksum(personal, w.bytes).prefix(checksumSize))
    }
}
