import Foundation
import Glibc
import Synchronization

/// The bucket layout of a store whose packs live in a `PackStorage` (keys relative to its
/// prefix):
///
/// - `packs/<hex>.pack`: a pack file, byte for byte as written locally.
/// - `packs/<hex>.dir`: its record directory (`PackDirectory`), uploaded right after it, so
///   `repair index` need not scan the pack's record headers with many ranged reads.
/// - `state/<sequence>-<index id>`: `StoreState` (heads, sync sequence numbers), put inside every index
///   transaction that changes a head, before it commits; the newest is the store's state.
///
/// Packs and their directories are uploaded and confirmed before the index learns of their
/// objects, so metadata implies data holds with the bucket as the data.
package enum BucketLayout {
    package static let packPrefix = "packs/"
    package static let statePrefix = "state/"

    package static func packKey(_ name: String) -> String { packPrefix + name }

    package static func directoryKey(_ name: String) -> String {
        packPrefix + (name.hasSuffix(".pack") ? String(name.dropLast(5)) : name) + ".dir"
    }

    package static func stateKey(_ state: StoreState) -> String {
        let digits = String(state.sequence)
        return statePrefix + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + "-" + state.index
    }

    /// The sequence number and index id of a state record's key.
    package static func stateName(_ key: String) -> (sequence: UInt64, index: String)? {
        guard key.hasPrefix(statePrefix) else { return nil }
        let parts = key.dropFirst(statePrefix.count).split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let seq = UInt64(parts[0]) else { return nil }
        return (seq, String(parts[1]))
    }

    package static func stateSequence(_ key: String) -> UInt64? { stateName(key)?.sequence }

    /// Whether a state record already written (`written`) means the index about to write
    /// `next` is behind: a higher sequence number, or the same one from another index.
    static func supersedes(_ written: (sequence: UInt64, index: String), _ next: StoreState) -> Bool {
        written.sequence > next.sequence || (written.sequence == next.sequence && written.index != next.index)
    }

    /// Where the state of a store without a bucket is mirrored.
    static func localStatePath(store: String) -> String { store + "/state.json" }

    /// The `StateMirror` of a store: `state/<sequence>` in the bucket, else `state.json`
    /// beside the index (replaced atomically and made durable). Refuses to write a sequence
    /// number below one already written: that index is behind its state (it was lost and
    /// recreated), and its state would shadow the real one, so `repair index` must run first.
    /// (Equal is fine: a write whose transaction then failed to commit.) Checked once per
    /// process, at the first write, not on every write.
    static func stateMirror(store: String, storage: (any PackStorage)?) -> StateMirror {
        @Sendable func behind(_ written: UInt64, _ next: StoreState, _ place: String) -> ArkError {
            ArkError(
                .invalidArgument,
                "the index is behind the store's state (state record \(written) in \(place) was written by another index, this one is at \(next.sequence - 1)); run 'ark repair index' first"
            )
        }
        if let storage {
            let checked = StateMirrorCheck()
            return { state in
                if !checked.done.load(ordering: .acquiring) {
                    for name in try storage.list(prefix: statePrefix).compactMap({ stateName($0.key) }) where supersedes(name, state) {
                        throw behind(name.sequence, state, storage.location)
                    }
                    checked.done.store(true, ordering: .releasing)
                }
                try storage.put(key: stateKey(state), bytes: state.encoded())
            }
        }
        let checked = StateMirrorCheck()
        return { state in
            let path = localStatePath(store: store)
            if !checked.done.load(ordering: .acquiring) {
                if let old = try? FileDescriptor.readStoreFile(path, what: "state record"),
                    let written = try? StoreState(decoding: old, what: path), supersedes((written.sequence, written.index), state)
                {
                    throw behind(written.sequence, state, path)
                }
                checked.done.store(true, ordering: .releasing)
            }
            try FileDescriptor.replaceStoreFile(path, state.encoded())
            try FileDescriptor.syncDirectory(store)
        }
    }
}

/// Whether a bucket's state records were checked against the index (once per process).
private final class StateMirrorCheck: Sendable {
    let done = Atomic<Bool>(false)
}

/// A pack's record directory: for each record, the 48-byte header (`PackFormat`) and the
/// offset of its stored bytes (u64 big-endian), after an 8-byte magic and the pack's size, and
/// last a BLAKE2b-256 checksum of everything before it (personalization `ark.packdir.v2`), so
/// a damaged directory is not taken for the pack's records (`repair index` scans the pack
/// instead). Directories of the first format (`ARKDIR01`, no checksum) are still read.
package enum PackDirectory {
    static let magic: [UInt8] = Array("ARKDIR02".utf8)
    static let magicV1: [UInt8] = Array("ARKDIR01".utf8)
    static let entrySize = 8 + PackFormat.recordHeaderSize
    static let checksumSize = 32
    static let personal = "ark.packdir.v2"

    static func encode(_ records: [PackWriter.Pending], packSize: UInt64) -> [UInt8] {
        var out = magic
        out.reserveCapacity(16 + records.count * entrySize + checksumSize)
        withUnsafeBytes(of: packSize.bigEndian) { out.append(contentsOf: $0) }
        for r in records {
            withUnsafeBytes(of: r.location.offset.bigEndian) { out.append(contentsOf: $0) }
            out += PackFormat.header(
                kind: r.kind, compression: r.location.compression, rawLength: r.location.rawLength,
                storedLength: r.location.storedLength, id: r.id)
        }
        out += ObjectHasher.checksum(personal, out)
        return out
    }

    /// The records of pack `name` listed in `bytes`; nil when they are not a directory of a
    /// pack of `packSize` bytes whose records all fit in it, or its checksum does not match.
    static func decode(_ bytes: [UInt8], name: String, packSize: UInt64) -> [PackWriter.Pending]? {
        guard bytes.count >= 16 else { return nil }
        let head = Array(bytes[0..<8])
        let body: [UInt8]
        if head == magic {
            guard bytes.count >= 16 + checksumSize else { return nil }
            body = Array(bytes[..<(bytes.count - checksumSize)])
            guard ObjectHasher.checksum(personal, body) == Array(bytes[(bytes.count - checksumSize)...]) else { return nil }
        } else if head == magicV1 {
            body = bytes
        } else {
            return nil
        }
        guard (body.count - 16) % entrySize == 0, readU64(body, 8) == packSize else { return nil }
        var out: [PackWriter.Pending] = []
        var at = 16
        while at < body.count {
            let offset = readU64(body, at)
            guard let r = PackScanner.parseHeader(body[(at + 8)..<(at + entrySize)], dataOffset: offset, packName: name),
                offset >= UInt64(PackFormat.fileMagic.count + PackFormat.recordHeaderSize),
                offset + UInt64(r.location.storedLength) <= packSize
            else { return nil }
            out.append(r)
            at += entrySize
        }
        return out
    }

    static func readU64(_ b: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(b[at + i]) }
        return v
    }
}

extension Repository {
    /// Packs a store writes roll over beyond this size: smaller ones for a bucket.
    var packTargetSize: UInt64 { packStorage != nil ? PackFormat.bucketPackSize : PackFormat.targetPackSize }

    /// Packs of one batch uploading at once: each is one PUT, a single stream; curl's PUTs of
    /// 8 MiB objects over https to the loopback server went at 213 MB/s one at a time, 281 four
    /// at a time (docs/benchmarks.md, "S3: more loads in flight").
    static let uploadsInFlight = 4

    /// Uploads freshly synced packs and their record directories, `uploadsInFlight` packs at a
    /// time; returns once the bucket has confirmed them all (only then may the index learn of
    /// their records), or the first failure once every upload started has ended. The workers
    /// are threads of their own, not `bucketPool` jobs: a background upload already runs on
    /// that pool, and waiting there for jobs queued behind a full pool could deadlock.
    func upload(_ packs: [PackWriter.SyncedPack], records: [PackWriter.Pending]) throws {
        guard let storage = packStorage, !packs.isEmpty else { return }
        var byPack: [String: [PackWriter.Pending]] = [:]
        for r in records { byPack[r.packName, default: []].append(r) }
        let directories = byPack
        let packDirectory = packDirectory
        let next = Atomic<Int>(0)
        let failure = Mutex<(any Error)?>(nil)
        let work: @Sendable () -> Void = {
            while failure.withLock({ $0 == nil }) {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < packs.count else { return }
                let p = packs[i]
                do {
                    try storage.upload(key: BucketLayout.packKey(p.name), fromFile: packDirectory + "/" + p.name, length: p.size)
                    try storage.put(
                        key: BucketLayout.directoryKey(p.name), bytes: PackDirectory.encode(directories[p.name] ?? [], packSize: p.size))
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                }
            }
        }
        let workers = min(Self.uploadsInFlight, packs.count)
        let group = DispatchGroup()
        for _ in 1..<workers {
            group.enter()
            Thread.detachNewThread {
                work()
                group.leave()
            }
        }
        work()
        group.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// After packs were uploaded and published: their local copies count toward the cache.
    func cacheUploaded(_ packs: [PackWriter.SyncedPack]) {
        guard packStorage != nil, !packs.isEmpty else { return }
        recordCache.added(Int64(packs.reduce(0) { $0 + $1.size }), remote: remoteForCache)
    }

    /// The bucket's packs for the record cache; a local copy it unlinks loses its descriptors
    /// here, so its space is freed at once.
    var remoteForCache: RecordCache.Remote {
        RecordCache.Remote(packs: { try self.index.remotePacks() }, unlinked: { self.dropDescriptors($0) })
    }

    /// Deletes least recently used cached records and local copies of uploaded packs until the
    /// local cache is within `[store] cache_limit` again; returns files and bytes removed.
    @discardableResult
    package func trimLocalCache() -> (files: Int, bytes: Int64) {
        guard packStorage != nil else { return (0, 0) }
        return recordCache.trim(remote: remoteForCache)
    }

    /// Where the stored bytes of a record came from, for messages and for dropping a bad
    /// cached copy.
    enum RecordSource: Equatable {
        case local(String)
        case cache
        case bucket(String)
    }

    /// The stored bytes of the record at `loc` (not verified yet): from the local pack file,
    /// else, for a pack the bucket holds, from the record cache or with a ranged read.
    func storedRecord(_ id: ObjectID, kind: ObjectKind, at loc: ObjectLocation, skipCache: Bool = false) throws -> (
        bytes: [UInt8], source: RecordSource
    ) {
        let file: FileDescriptor
        do { file = try packs.file(loc.pack) { try index.packName(loc.pack) } } catch let e as ArkError {
            if e.code == .missing, packStorage != nil, let info = try index.packInfo(loc.pack), info.remote {
                return try bucketRecord(id, kind: kind, at: loc, pack: info.name, skipCache: skipCache)
            }
            throw ArkError(e.code, "\(kind) \(id) cannot be read: \(e.message)", context: e.context)
        }
        var readError: ArkError?
        let stored = [UInt8](unsafeUninitializedCapacity: loc.storedLength) { buf, n in
            do { try file.pread(into: UnsafeMutableRawBufferPointer(buf), at: loc.offset); n = buf.count } catch let e as ArkError {
                readError = e; n = 0
            } catch { readError = ArkError(.io, "\(error)"); n = 0 }
        }
        if let e = readError {
            packs.drop(loc.pack)
            throw ArkError(.corrupt, "\(kind) \(id) cannot be read", context: "\(file.path) offset \(loc.offset): \(e.message)")
        }
        return (stored, .local(file.path))
    }

    func bucketRecord(_ id: ObjectID, kind: ObjectKind, at loc: ObjectLocation, pack: String, skipCache: Bool) throws -> (
        bytes: [UInt8], source: RecordSource
    ) {
        if !skipCache, let cached = recordCache.load(id, count: loc.storedLength) { return (cached, .cache) }
        let key = BucketLayout.packKey(pack)
        let bytes: [UInt8]
        do { bytes = try packStorage!.read(key: key, offset: loc.offset, length: loc.storedLength) } catch let e as ArkError {
            throw ArkError(e.code, "\(kind) \(id) cannot be read from the bucket: \(e.message)", context: e.context)
        }
        guard bytes.count == loc.storedLength else {
            throw ArkError(
                .corrupt, "\(kind) \(id) cannot be read: the bucket returned \(bytes.count) of \(loc.storedLength) bytes",
                context: "\(key) offset \(loc.offset)")
        }
        return (bytes, .bucket(key))
    }

    /// Keeps verified bytes read from the bucket in the local cache.
    func cacheFetched(_ id: ObjectID, _ stored: [UInt8]) {
        recordCache.store(id, stored, remote: remoteForCache)
    }
}
