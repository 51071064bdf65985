#if canImport(Glibc)
import Glibc
#endif

/// Appends records to a new pack file of its own (so concurrent writers never share a file).
/// Bytes become durable only at `sync()`; only then may the index learn about them.
final class PackWriter {
    struct Pending {
        var id: ObjectID
        var kind: ObjectKind
        var packName: String
        var location: ObjectLocation // `pack` is filled in by the index
    }

    private let directory: String
    private var file: FileDescriptor?
    private var name = ""
    private var size: UInt64 = 0
    private var buffer: [UInt8] = []
    private(set) var pending: [Pending] = []
    private var createdSinceSync = false
    private(set) var bytesWritten: UInt64 = 0

    init(directory: String) { self.directory = directory; buffer.reserveCapacity(8 << 20) }

    var pendingCount: Int { pending.count }

    func append(id: ObjectID, kind: ObjectKind, raw: UnsafeRawBufferPointer, compressed: [UInt8]?) throws {
        if file == nil || size >= PackFormat.targetPackSize { try roll() }
        let stored = compressed.map { $0.count } ?? raw.count
        let comp: PackFormat.Compression = compressed == nil ? .none : .zstd
        buffer.append(contentsOf: PackFormat.header(kind: kind, compression: comp, rawLength: raw.count, storedLength: stored, id: id))
        let dataOffset = size + UInt64(PackFormat.recordHeaderSize)
        if let compressed { buffer.append(contentsOf: compressed) } else { buffer.append(contentsOf: raw) }
        size = dataOffset + UInt64(stored)
        bytesWritten += UInt64(stored)
        pending.append(Pending(id: id, kind: kind, packName: name,
                               location: ObjectLocation(pack: 0, offset: dataOffset, storedLength: stored, rawLength: raw.count, compression: comp)))
        if buffer.count >= 8 << 20 { try drain() }
    }

    private func drain() throws {
        guard let file, !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try file.writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func roll() throws {
        if file != nil { try drain(); try file!.sync() }
        var rnd = SystemRandomNumberGenerator()
        name = HexCodec.encode((0..<12).map { _ in UInt8.random(in: 0...255, using: &rnd) }) + ".pack"
        file = try FileDescriptor(open: directory + "/" + name, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o444)
        buffer.append(contentsOf: PackFormat.fileMagic)
        size = UInt64(PackFormat.fileMagic.count)
        createdSinceSync = true
    }

    /// Writes and fsyncs everything appended so far (and the directory entry of a new pack),
    /// then hands back the now-durable records for the index.
    func sync() throws -> [Pending] {
        try drain()
        if let file { try file.sync() }
        if createdSinceSync { try FileDescriptor.syncDirectory(directory); createdSinceSync = false }
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }
}
