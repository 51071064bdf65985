import Dispatch
import Synchronization

/// Deflating a pack's trees and blobs on another thread while `GitFetchPack.plan` is still
/// walking: each is handed over as soon as the walk has chosen it (a blob is read there), and
/// `write` later copies the deflated bytes into the pack. One serial queue: one thread beside
/// the walk, objects in the order they were handed over.
///
/// An object handed over with a path key (the walk's guess at "the same directory" or "the same
/// file": its names, or its directory's names and its own) is sent as a delta (`GitDelta`)
/// against the last object handed over with that key, when that is much smaller: a history's
/// trees are mostly a directory changed by an entry, its blobs a file changed by a few lines.
/// Chains stop at `maxDepth` (git's default), and the kept versions at `latestLimit` bytes.
final class GitDeflateAhead: @unchecked Sendable {  // `futures` and `handed` are used by the owner's thread only; the deflater and `latest` on `queue` only
    /// An object as the pack carries it: whole (`deltaBase` nil) or as a delta against the
    /// object with git id `deltaBase`; `size` is the content's (or the delta's) size.
    struct Object {
        var size: UInt64
        var deflated: [UInt8]
        var deltaBase: [UInt8]?
    }

    /// An object deflated on the queue, or nil for a file of more than one chunk, which the
    /// writer streams itself.
    final class Future: @unchecked Sendable {  // `result` is written once before `done` signals and read only after waiting
        private let done = DispatchSemaphore(value: 0)
        private var result: Swift.Result<Object?, any Error> = .success(nil)

        fileprivate func set(_ r: Swift.Result<Object?, any Error>) {
            result = r
            done.signal()
        }

        func wait() throws -> Object? {
            done.wait()
            done.signal()  // a later wait returns at once
            return try result.get()
        }
    }

    private let repo: Repository
    private let queue = DispatchQueue(label: "ark.git-pack.deflate")
    private let deflater = GitDeflater()
    private let cancelled = Mutex(false)
    private var futures: [ObjectID: Future] = [:]
    /// Everything ever handed over (taken or not).
    private var handed = Set<ObjectID>()

    /// The last version handed over under each path key: a delta base for the next one.
    private struct Version {
        var git: [UInt8]
        var content: [UInt8]
        var depth: Int
    }
    private var latest: [Int: Version] = [:]
    private var latestBytes = 0
    static let maxDepth = 50
    static let latestLimit = 64 << 20

    init(repo: Repository) { self.repo = repo }

    /// Queues the deflating of tree `id`'s git form (git id `git`).
    func tree(_ id: ObjectID, form: [UInt8], git: [UInt8], key: Int?) {
        submit(id) { [self] in try encode(form, git: git, key: key) }
    }

    /// Queues the reading and deflating of a file's blob (git id `git`).
    func blob(manifest: ObjectID, git: [UInt8], key: Int?) {
        submit(manifest) { [self] in
            guard let bytes = try readBlob(manifest) else { return nil }
            return try encode(bytes, git: git, key: key)
        }
    }

    /// On the queue: a delta against the last version under `key` when that is much smaller,
    /// else the whole content; either deflated.
    private func encode(_ content: [UInt8], git: [UInt8], key: Int?) throws -> Object {
        guard let key else { return Object(size: UInt64(content.count), deflated: try deflater.deflate(content)) }
        var out: Object?
        var depth = 0
        if let previous = latest[key], previous.depth < Self.maxDepth,
            let delta = GitDelta.encode(base: previous.content, target: content)
        {
            out = Object(size: UInt64(delta.count), deflated: try deflater.deflate(delta), deltaBase: previous.git)
            depth = previous.depth + 1
        }
        let replaced = latest[key]?.content.count ?? 0
        if latestBytes - replaced + content.count <= Self.latestLimit {
            latest[key] = Version(git: git, content: content, depth: depth)
            latestBytes += content.count - replaced
        }
        if let out { return out }
        return Object(size: UInt64(content.count), deflated: try deflater.deflate(content))
    }

    private func submit(_ id: ObjectID, _ body: @escaping @Sendable () throws -> Object?) {
        let f = Future()
        futures[id] = f
        handed.insert(id)
        queue.async { [self] in
            if cancelled.withLock({ $0 }) {
                f.set(.failure(ArkError(.io, "git pack: cancelled")))
            } else {
                f.set(Swift.Result { try body() })
            }
        }
    }

    /// Whether `id` was handed over (even if taken since).
    func wasHanded(_ id: ObjectID) -> Bool { handed.contains(id) }

    /// The result for `id`, if it was handed over and not taken yet.
    func take(_ id: ObjectID) -> Future? { futures.removeValue(forKey: id) }

    /// Skips what is still queued and waits for the object being deflated (after a failure,
    /// before returning; immediate when everything was taken).
    func finish() {
        cancelled.withLock { $0 = true }
        queue.sync {}
    }

    /// A file's content if it has at most one chunk (else nil: the writer streams it).
    private func readBlob(_ manifest: ObjectID) throws -> [UInt8]? {
        let root = try repo.manifest(manifest)
        guard root.level == 0 && root.count <= 1 else { return nil }
        var bytes: [UInt8] = []
        if root.count == 1 {
            let e = root.entry(at: 0)
            bytes = try repo.readChunk(e.id)
            guard UInt64(bytes.count) == e.length else {
                throw ArkError(.corrupt, "manifest entry for chunk \(e.id) says \(e.length) bytes, the chunk has \(bytes.count)")
            }
        }
        guard UInt64(bytes.count) == root.totalSize else {
            throw ArkError(.corrupt, "manifest \(manifest) says \(root.totalSize) bytes, its chunks have \(bytes.count)")
        }
        return bytes
    }
}
