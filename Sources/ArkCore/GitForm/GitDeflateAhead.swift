import Dispatch
import Synchronization

/// Deflating a pack's trees and blobs on another thread while `GitFetchPack.plan` is still
/// walking: each is handed over as soon as the walk has chosen it (a blob is read there), and
/// `write` later copies the deflated bytes into the pack. One serial queue: one thread beside
/// the walk, objects in the order they were handed over.
final class GitDeflateAhead: @unchecked Sendable {  // `futures` and `handed` are used by the owner's thread only; the deflater on `queue` only
    /// An object deflated on the queue: its size and deflated content, or nil for a file of
    /// more than one chunk, which the writer streams itself.
    final class Future: @unchecked Sendable {  // `result` is written once before `done` signals and read only after waiting
        private let done = DispatchSemaphore(value: 0)
        private var result: Swift.Result<(size: UInt64, deflated: [UInt8])?, any Error> = .success(nil)

        fileprivate func set(_ r: Swift.Result<(size: UInt64, deflated: [UInt8])?, any Error>) {
            result = r
            done.signal()
        }

        func wait() throws -> (size: UInt64, deflated: [UInt8])? {
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

    init(repo: Repository) { self.repo = repo }

    /// Queues the deflating of tree `id`'s git form.
    func tree(_ id: ObjectID, form: [UInt8]) {
        submit(id) { [deflater] in (UInt64(form.count), try deflater.deflate(form)) }
    }

    /// Queues the reading and deflating of a file's blob.
    func blob(manifest: ObjectID) {
        submit(manifest) { [self] in try readBlob(manifest) }
    }

    private func submit(_ id: ObjectID, _ body: @escaping @Sendable () throws -> (size: UInt64, deflated: [UInt8])?) {
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

    private func readBlob(_ manifest: ObjectID) throws -> (size: UInt64, deflated: [UInt8])? {
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
        return (root.totalSize, try deflater.deflate(bytes))
    }
}
