import Glibc

/// Appends records to a new pack file of its own (so concurrent writers never share a file).
/// Bytes become durable only at `sync()`; only then may the index learn about them.
///
/// Packs are written with O_DIRECT (`DirectAppender`) where the file system allows it: a pack
/// is written once and read back rarely (a mount's reads of cold packs use O_DIRECT too), so
/// its bytes gain nothing from the page cache and filling fresh cache pages cost more CPU than
/// the rest of writing them. Elsewhere they are written through an 8 MiB buffer and `writev`.
final class PackWriter {
    struct Pending: Sendable {
        var id: ObjectID
        var kind: ObjectKind
        var packName: String
        var location: ObjectLocation  // `pack` is filled in by the index
    }

    private let directory: String
    private var file: FileDescriptor?
    /// The current pack's O_DIRECT writer; nil when it is written through the page cache.
    private var direct: DirectAppender?
    /// The staging buffer `direct` writes through, kept from pack to pack.
    private var staging: DirectAppender?
    /// False once a file system refused O_DIRECT: later packs of this writer are buffered.
    private var triesDirect = true
    private var name = ""
    private var size: UInt64 = 0
    private var buffer: [UInt8] = []
    private(set) var pending: [Pending] = []
    private var createdSinceSync = false
    private(set) var bytesWritten: UInt64 = 0
    /// Start of the written range whose writeback has not been started yet.
    private var writebackFrom: UInt64 = 0
    static let directWriteMinimum = 1 << 20
    static let writebackStep: UInt64 = 8 << 20
    /// Closes the pack at every `sync()`, so the next record starts a new one: a pack that was
    /// uploaded (`PackStorage`) is never appended to again.
    let sealsOnSync: Bool
    /// Sizes of the packs written to since the last `sync()`.
    private var touched: [String: UInt64] = [:]

    /// Roll over to a new pack file beyond this size.
    let targetSize: UInt64

    init(directory: String, sealsOnSync: Bool = false, targetSize: UInt64 = PackFormat.targetPackSize) {
        self.directory = directory
        self.sealsOnSync = sealsOnSync
        self.targetSize = targetSize
        buffer.reserveCapacity(8 << 20)
    }

    var pendingCount: Int { pending.count }

    /// The file name of the pack being written ("" before the first record).
    var packName: String { name }

    /// `compressed` is a zstd frame, or with `delta` a base id and a frame made with the base
    /// as dictionary (`PackFormat.Compression.zstdDelta`).
    func append(id: ObjectID, kind: ObjectKind, raw: UnsafeRawBufferPointer, compressed: [UInt8]?, delta: Bool = false) throws {
        if file == nil || size >= targetSize { try roll() }
        let stored = compressed.map { $0.count } ?? raw.count
        let comp: PackFormat.Compression = compressed == nil ? .none : delta ? .zstdDelta : .zstd
        let header = PackFormat.header(kind: kind, compression: comp, rawLength: raw.count, storedLength: stored, id: id)
        if let direct {
            try direct.append(header)
            if let compressed { try direct.append(compressed) } else { try direct.append(raw) }
        } else {
            buffer.append(contentsOf: header)
            if let compressed { buffer.append(contentsOf: compressed) } else { buffer.append(contentsOf: raw) }
        }
        let dataOffset = size + UInt64(PackFormat.recordHeaderSize)
        size = dataOffset + UInt64(stored)
        bytesWritten += UInt64(stored)
        pending.append(
            Pending(
                id: id, kind: kind, packName: name,
                location: ObjectLocation(pack: 0, offset: dataOffset, storedLength: stored, rawLength: raw.count, compression: comp)))
        if buffer.count >= 8 << 20 { try drain() }
    }

    /// One record for `append(records:)`: `raw` must stay valid for the call.
    struct Record {
        var id: ObjectID
        var kind: ObjectKind
        var raw: UnsafeRawBufferPointer
        var compressed: [UInt8]?
        /// Block tags of a chunk (`BlockTagger`), published with the record.
        var tags: [UInt8]? = nil
    }

    /// Appends records in order, writing raw bytes straight from the caller's memory with
    /// `writev` (headers and compressed bytes go through a small scratch buffer), then asks
    /// the kernel to start writing them back so the next `sync()` has little left to do.
    func append(records: [Record]) throws {
        // Small batches (small files) are cheaper copied into the buffer than written alone;
        // O_DIRECT writes copy every record into their staging buffer anyway.
        if triesDirect || records.reduce(0, { $0 + $1.raw.count }) < Self.directWriteMinimum {
            for r in records { try append(id: r.id, kind: r.kind, raw: r.raw, compressed: r.compressed) }
            return
        }
        try drain()
        var scratch: [UInt8] = []
        var segments: [(external: UnsafeRawBufferPointer?, scratch: Range<Int>)] = []
        func flush() throws {
            guard let file, !segments.isEmpty else { return }
            try scratch.withUnsafeBytes { base in
                let vecs = segments.map { seg -> iovec in
                    let p = seg.external ?? UnsafeRawBufferPointer(rebasing: base[seg.scratch])
                    return iovec(iov_base: UnsafeMutableRawPointer(mutating: p.baseAddress), iov_len: p.count)
                }
                try file.writeAll(vecs)
            }
            if size - writebackFrom >= Self.writebackStep {
                file.startWriteback(from: writebackFrom, count: size - writebackFrom)
                writebackFrom = size
            }
            scratch.removeAll(keepingCapacity: true); segments.removeAll(keepingCapacity: true)
        }
        for r in records {
            if file == nil || size >= targetSize {
                try flush(); try roll(); try drain()
            }
            let stored = r.compressed?.count ?? r.raw.count
            let comp: PackFormat.Compression = r.compressed == nil ? .none : .zstd
            let headerStart = scratch.count
            scratch.append(
                contentsOf: PackFormat.header(kind: r.kind, compression: comp, rawLength: r.raw.count, storedLength: stored, id: r.id))
            if let c = r.compressed {
                scratch.append(contentsOf: c)
                segments.append((nil, headerStart..<scratch.count))
            } else {
                segments.append((nil, headerStart..<scratch.count))
                if r.raw.count > 0 { segments.append((r.raw, 0..<0)) }
            }
            let dataOffset = size + UInt64(PackFormat.recordHeaderSize)
            size = dataOffset + UInt64(stored)
            bytesWritten += UInt64(stored)
            pending.append(
                Pending(
                    id: r.id, kind: r.kind, packName: name,
                    location: ObjectLocation(pack: 0, offset: dataOffset, storedLength: stored, rawLength: r.raw.count, compression: comp)))
        }
        try flush()
    }

    private func drain() throws {
        if let direct { return try direct.flush() }
        guard let file, !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try file.writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func roll() throws {
        if file != nil { try drain(); try file!.syncData(); touched[name] = size }
        if let direct, !direct.isDirect { triesDirect = false }
        var rnd = SystemRandomNumberGenerator()
        name = HexCodec.encode((0..<12).map { _ in UInt8.random(in: 0...255, using: &rnd) }) + ".pack"
        file = try FileDescriptor(open: directory + "/" + name, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o444)
        if triesDirect, staging == nil { staging = DirectAppender() }
        direct = triesDirect && staging?.begin(file!) == true ? staging : nil
        triesDirect = direct != nil
        if let direct { try direct.append(PackFormat.fileMagic) } else { buffer.append(contentsOf: PackFormat.fileMagic) }
        size = UInt64(PackFormat.fileMagic.count)
        writebackFrom = 0
        createdSinceSync = true
    }

    /// Writes and fsyncs everything appended so far (and the directory entry of a new pack),
    /// then hands back the now-durable records for the index.
    func sync() throws -> [Pending] {
        try syncPacks().records
    }

    /// A pack file made durable by `syncPacks()`: its name and size.
    struct SyncedPack: Equatable, Sendable {
        var name: String
        var size: UInt64
    }

    /// `sync()`, also naming the packs the records are in (with their sizes now). With
    /// `sealsOnSync`, those packs are closed and never written again.
    func syncPacks() throws -> (records: [Pending], packs: [SyncedPack]) {
        try drain()
        if let file {
            try file.syncData()
            if !pending.isEmpty || touched[name] != nil { touched[name] = size }
        }
        if createdSinceSync { try FileDescriptor.syncDirectory(directory); createdSinceSync = false }
        if let direct, !direct.isDirect { triesDirect = false }
        if sealsOnSync { file = nil; direct = nil }
        defer { pending.removeAll(keepingCapacity: true); touched.removeAll() }
        let names = Set(pending.map(\.packName))
        return (
            pending, touched.filter { names.contains($0.key) }.map { SyncedPack(name: $0.key, size: $0.value) }.sorted { $0.name < $1.name }
        )
    }
}
