import Dispatch

/// Reading blobs ahead of the pack writer, for those `plan` did not hand to `GitDeflateAhead`
/// (past its memory bound): while one is deflated, the next few are read and verified
/// (manifest, chunk, hash) on other threads.
extension GitFetchPack {
    /// How many blobs are read ahead of the one being written.
    static let blobReadAhead = 4

    /// A blob read on another thread: the content of a file of at most one chunk, or nil for a
    /// larger file, which the writer streams itself (`FileReader.stream` reads ahead too).
    final class BlobRead: @unchecked Sendable {  // `result` is written once before `done` signals and read only after waiting
        private let done = DispatchSemaphore(value: 0)
        private var result: Swift.Result<[UInt8]?, any Error> = .success(nil)

        init(repo: Repository, manifest: ObjectID) {
            DispatchQueue.global().async { [self] in
                result = Swift.Result { try Self.read(repo: repo, manifest: manifest) }
                done.signal()
            }
        }

        func wait() throws -> [UInt8]? {
            done.wait()
            done.signal()  // a later wait (error clean-up) returns at once
            return try result.get()
        }

        private static func read(repo: Repository, manifest: ObjectID) throws -> [UInt8]? {
            let root = try repo.manifest(manifest)
            guard root.level == 0 && root.count <= 1 else { return nil }
            guard root.count == 1 else { return [] }
            let e = root.entry(at: 0)
            let bytes = try repo.readChunk(e.id)
            guard UInt64(bytes.count) == e.length else {
                throw ArkError(.corrupt, "manifest entry for chunk \(e.id) says \(e.length) bytes, the chunk has \(bytes.count)")
            }
            guard e.length == root.totalSize else {
                throw ArkError(.corrupt, "manifest \(manifest) says \(root.totalSize) bytes, its one chunk has \(e.length)")
            }
            return bytes
        }
    }

    /// The blobs of `items` not handed to `ahead`, in order, each started `blobReadAhead`
    /// blobs before it is taken.
    struct BlobReads {
        private let repo: Repository
        private let items: [Item]
        private let ahead: GitDeflateAhead
        private var scanned = 0
        private var pending: [BlobRead] = []
        private var head = 0

        init(repo: Repository, items: [Item], ahead: GitDeflateAhead) { self.repo = repo; self.items = items; self.ahead = ahead }

        /// The read of the next blob item not handed to `ahead` (taken in order).
        mutating func next() -> BlobRead {
            while pending.count - head <= GitFetchPack.blobReadAhead && scanned < items.count {
                if case .blob(let m) = items[scanned], !ahead.wasHanded(m) { pending.append(BlobRead(repo: repo, manifest: m)) }
                scanned += 1
            }
            let r = pending[head]
            head += 1
            if head >= 64 {
                pending.removeFirst(head)
                head = 0
            }
            return r
        }

        /// Waits for the reads still running (after a failure, before returning).
        func finish() { for r in pending[head...] { _ = try? r.wait() } }
    }
}
