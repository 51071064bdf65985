import Foundation
import Glibc
import Logging
import Synchronization

/// The store facade: blob packs, index and identity under one directory. Every read of
/// stored bytes is hash-verified before it is returned.
package final class Repository: Sendable {
    package let path: String
    package let index: Index
    package let identity: NodeIdentity
    let packs: PackFiles
    /// O_DIRECT reads of tagged chunks (see `DirectPackReader`).
    let directReads: DirectPackReader
    /// Raw bytes of recently used delta bases (verified when read), so reading a chain of tree
    /// versions does not resolve every base again.
    let deltaBases = DeltaBaseCache()
    let logger = Logger(label: "ark.store")
    /// Tags and checks blocks of chunks this node stores (see `BlockTagger`).
    package let blockTagger: BlockTagger
    /// Tags of objects read whole without valid tags, waiting to be recorded.
    let tagBackfill = TagBackfill()

    package var packDirectory: String { path + "/packs" }
    /// Where packs are kept when they live off this disk (`[store.s3]`), else nil.
    package let packStorage: (any PackStorage)?

    /// Records fetched from the bucket and local copies of uploaded packs, kept within
    /// `cacheLimit` (used only with `packStorage`).
    let recordCache: RecordCache
    /// Records whose local copy (of a pack the bucket holds) did not verify and were read from
    /// the bucket instead, since the store was opened.
    let localCopiesReplaced = Atomic<Int>(0)
    /// Threads for reads that wait on the bucket (several ranged reads in flight: a global
    /// dispatch queue runs one thread per core); nil without `packStorage`.
    let bucketPool: BlockingPool?

    /// Opens (creating if needed) the store at `path`; with `packStorage`, pack files live there
    /// and the local `packs/` directory and `cache/` are a cache bounded by `cacheLimit` bytes
    /// (`[store] cache_limit`).
    package init(path: String, packStorage: (any PackStorage)? = nil, cacheLimit: Int64 = 10 << 30) throws {
        guard ObjectHasher.initialized else { throw ArkError(.io, "libsodium failed to initialize") }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ArkError(.invalidArgument, "store path \(path) exists and is not a directory") }
            try Self.checkOwner(path)
        }
        do {
            try fm.createDirectory(atPath: path + "/packs", withIntermediateDirectories: true)
        } catch {
            throw ArkError(.io, "cannot create store at \(path): \(error.localizedDescription)")
        }
        try Self.checkOwner(path)
        self.path = path
        self.packStorage = packStorage
        self.recordCache = RecordCache(store: path, limit: cacheLimit)
        self.bucketPool = packStorage.map { _ in BlockingPool(threadCount: 16, name: "ark-bucket") }
        bucketPool?.start()
        let setup = try StoreLock(store: path, mode: .exclusive, file: "setup.lock")
        // SQLite opens these by name and follows symlinks: none may be one.
        let indexPath = path + "/index.sqlite"
        try FileDescriptor.prepareStoreFile(indexPath, what: "index", create: true)
        for suffix in ["-wal", "-shm", "-journal"] {
            try FileDescriptor.prepareStoreFile(indexPath + suffix, what: "index file", create: false)
        }
        self.index = try Index(path: indexPath, stateMirror: BucketLayout.stateMirror(store: path, storage: packStorage))
        (self.identity, self.blockTagger) = try StoreKeys.open(store: path, index: index, logger: logger)
        withExtendedLifetime(setup) {}
        self.packs = PackFiles(directory: path + "/packs")
        self.directReads = DirectPackReader(directory: path + "/packs")
    }

    deinit { _ = bucketPool?.shutdown(timeout: 5) }

    /// Runs a job that reads chunks on another thread: on `bucketPool` when reads may wait on
    /// the bucket, else on a global queue.
    func runRead(_ job: @escaping @Sendable () -> Void) {
        if let bucketPool { bucketPool.submit(job) } else { DispatchQueue.global().async(execute: job) }
    }

    /// As root, refuses a store directory owned by another user: its owner could plant names
    /// in it that redirect root's writes to files the owner may not touch.
    static func checkOwner(_ path: String) throws {
        guard geteuid() == 0 else { return }
        var st = stat()
        try syscall("stat \(path)") { stat(path, &st) }
        guard st.st_uid == 0 else {
            throw ArkError(
                .invalidArgument,
                "store \(path) is owned by uid \(st.st_uid), not root; refusing to use it as root (run ark as its owner, or chown the store to root)"
            )
        }
    }

    /// The verified bytes of an object.
    package func read(_ id: ObjectID, kind expected: ObjectKind? = nil) throws -> [UInt8] {
        guard let obj = try index.object(id) else {
            throw ArkError(.notFound, "\(expected?.description ?? "object") \(id) is not in the store")
        }
        if let expected, obj.kind != expected {
            throw ArkError(.invalidArgument, "\(id) is a \(obj.kind), not a \(expected)")
        }
        guard let loc = obj.location else {
            throw ArkError(.missing, "\(obj.kind) \(id) is not stored locally")
        }
        do {
            return try read(id, kind: obj.kind, at: loc)
        } catch let e as ArkError where e.code == .missing || e.code == .corrupt {
            // Moved by gc or evicted from the cache since the lookup, or read through a
            // descriptor opened before gc replaced the pack? Forget the descriptors, look the
            // object up again and read it once more: only a second failure is damage.
            dropDescriptors(loc.pack)
            guard let again = try index.object(id) else { throw e }
            guard let moved = again.location else { throw ArkError(.missing, "\(obj.kind) \(id) is not stored locally") }
            return try read(id, kind: obj.kind, at: moved)
        }
    }

    func read(_ id: ObjectID, kind: ObjectKind, at loc: ObjectLocation, depth: Int = 0) throws -> [UInt8] {
        try readRecord(id, kind: kind, at: loc, depth: depth).raw
    }

    /// The verified bytes of the record at `loc` and the stored bytes they were decoded from,
    /// read once: gc copies exactly the stored bytes it verified.
    func readRecord(_ id: ObjectID, kind: ObjectKind, at loc: ObjectLocation, depth: Int = 0) throws -> (raw: [UInt8], stored: [UInt8]) {
        let fetched = try storedRecord(id, kind: kind, at: loc)
        do {
            let raw = try decodeRecord(id, kind: kind, at: loc, stored: fetched.bytes, source: fetched.source, depth: depth)
            if case .bucket = fetched.source { cacheFetched(id, fetched.bytes) }
            return (raw, fetched.bytes)
        } catch let e as ArkError where e.code == .corrupt {
            switch fetched.source {
            case .cache:
                // The cache is not trusted either: drop the bad copy and read the bucket's.
                recordCache.drop(id)
            case .local(let path) where isBucketPack(loc.pack):
                return try replaceLocalCopy(path, id, kind: kind, at: loc, damage: e, depth: depth)
            default:
                throw e
            }
            let again = try storedRecord(id, kind: kind, at: loc, skipCache: true)
            let raw = try decodeRecord(id, kind: kind, at: loc, stored: again.bytes, source: again.source, depth: depth)
            if case .bucket = again.source { cacheFetched(id, again.bytes) }
            return (raw, again.bytes)
        }
    }

    /// The local copy of a pack the bucket holds is a cache too: when a record in it does not
    /// verify, the bucket's copy of the record is read and verified, and only then is the
    /// damaged local file removed (a bucket that cannot be read leaves it, and the error is
    /// the bucket's). Counted in `localCopiesReplaced` for `verify`.
    private func replaceLocalCopy(
        _ path: String, _ id: ObjectID, kind: ObjectKind, at loc: ObjectLocation, damage: ArkError, depth: Int
    ) throws -> (raw: [UInt8], stored: [UInt8]) {
        guard let name = try index.packInfo(loc.pack)?.name else { throw damage }
        let fetched = try bucketRecord(id, kind: kind, at: loc, pack: name, skipCache: true)
        let raw = try decodeRecord(id, kind: kind, at: loc, stored: fetched.bytes, source: fetched.source, depth: depth)
        cacheFetched(id, fetched.bytes)
        dropDescriptors(loc.pack)
        let removed = unlink(path) == 0 ? "removed it" : "could not remove it (\(Errno.current))"
        logger.warning("\(path) does not verify (\(damage.message)); \(removed), read the bucket's copy")
        localCopiesReplaced.add(1, ordering: .relaxed)
        return (raw, fetched.bytes)
    }

    /// Whether the bucket holds `pack` (so its local file is only a copy).
    func isBucketPack(_ pack: Int64) -> Bool {
        packStorage != nil && (try? index.packInfo(pack))??.remote == true
    }

    /// Decompresses (or undeltas) stored record bytes and checks they hash to `id`.
    func decodeRecord(
        _ id: ObjectID, kind: ObjectKind, at loc: ObjectLocation, stored: [UInt8], source: RecordSource, depth: Int
    ) throws -> [UInt8] {
        let place: String
        switch source {
        case .local(let path): place = "\(path) offset \(loc.offset)"
        case .cache: place = "\(recordCache.directory)/\(id.hex)"
        case .bucket(let key): place = "\(key) offset \(loc.offset) in \(packStorage?.location ?? "the bucket")"
        }
        let raw: [UInt8]
        switch loc.compression {
        case .none: raw = stored
        case .zstd:
            do { raw = try stored.withUnsafeBytes { try Zstd.decompress($0, rawLength: loc.rawLength) } } catch let e as ArkError {
                dropDescriptors(loc.pack)
                throw ArkError(.corrupt, "\(kind) \(id) is corrupt (\(e.message))", context: place)
            }
        case .zstdDelta:
            do {
                raw = try undelta(id, kind: kind, stored: stored, rawLength: loc.rawLength, depth: depth, context: place)
            } catch {
                dropDescriptors(loc.pack)
                throw error
            }
        }
        let actual = ObjectHasher.hash(kind, raw)
        guard actual == id, raw.count == loc.rawLength else {
            dropDescriptors(loc.pack)
            throw ArkError(.corrupt, "\(kind) \(id) is corrupt: stored bytes hash to \(actual.short)", context: place)
        }
        return raw
    }

    /// Forgets the open descriptors of `pack` after its bytes did not check out, so a retry
    /// opens the file the index names now rather than one gc has replaced.
    func dropDescriptors(_ pack: Int64) {
        packs.drop(pack)
        directReads.drop(pack)
    }

    package func tree(_ id: ObjectID) throws -> Tree { try decode(id, .tree, Tree.init(decoding:)) }
    package func manifest(_ id: ObjectID) throws -> Manifest { try decode(id, .manifest, Manifest.init(decoding:)) }
    package func commit(_ id: ObjectID) throws -> Commit { try decode(id, .commit, Commit.init(decoding:)) }

    private func decode<T>(_ id: ObjectID, _ kind: ObjectKind, _ body: ([UInt8]) throws -> T) throws -> T {
        let bytes = try read(id, kind: kind)
        do { return try body(bytes) } catch let e as ArkError {
            throw ArkError(.corrupt, "\(kind) \(id) does not decode: \(e.message)")
        }
    }
}
