import Dispatch

/// Reads a file's bytes through its manifest; every chunk is hash-verified before use.
package struct FileReader: Sendable {
    package let repo: Repository
    package let root: Manifest

    package init(repo: Repository, manifest: ObjectID) throws {
        self.repo = repo
        self.root = try repo.manifest(manifest)
    }

    /// The reader of a tree's file entry, which must give its manifest's size: a tree that
    /// says otherwise (hashing fine, as a peer could send it) is corrupt, and its file is not
    /// served (the mount answers EIO for the same check, `OpenFile.locate`).
    package init(repo: Repository, entry: Tree.Entry) throws {
        guard let id = entry.id, entry.isFile else { throw ArkError(.invalidArgument, "'\(entry.name)' is not a file") }
        try self.init(repo: repo, manifest: id)
        guard root.totalSize == entry.size else {
            throw ArkError(.corrupt, "manifest \(id) describes \(root.totalSize) bytes, its tree entry \(entry.size)")
        }
    }

    package var size: UInt64 { root.totalSize }

    /// Leaf (chunk) entries with their absolute start offsets, in file order.
    package func forEachChunkEntry(_ body: (Manifest.Entry, UInt64) throws -> Void) throws {
        func walk(_ m: Manifest, base: UInt64) throws {
            for i in 0..<m.count {
                let start = base + m.start(at: i)
                if m.level == 0 {
                    try body(m.entry(at: i), start)
                } else {
                    let child = try repo.manifest(m.id(at: i))
                    try Self.checkChild(child, of: m, at: i)
                    try walk(child, base: start)
                }
            }
        }
        try walk(root, base: 0)
    }

    /// Streams the whole file in order. Up to `parallelism` chunks are read and verified ahead
    /// on other threads while earlier ones go to `sink` on this thread, so output and
    /// verification overlap.
    package func stream(parallelism: Int = 8, _ sink: ([UInt8]) throws -> Void) throws {
        var ahead: [ChunkFuture] = []
        var head = 0
        let repo = self.repo
        func deliverOldest() throws {
            let f = ahead[head]
            head += 1
            if head > 64 { ahead.removeFirst(head); head = 0 }
            try sink(try f.wait())
        }
        do {
            try forEachChunkEntry { e, _ in
                let f = ChunkFuture()
                repo.runRead {
                    f.run {
                        let bytes = try repo.readChunk(e.id)
                        // The manifest is verified too, but its lengths must agree with the chunks.
                        guard UInt64(bytes.count) == e.length else {
                            throw ArkError(
                                .corrupt, "manifest entry for chunk \(e.id) says \(e.length) bytes, the chunk has \(bytes.count)")
                        }
                        return bytes
                    }
                }
                ahead.append(f)
                if ahead.count - head >= Swift.max(1, parallelism) { try deliverOldest() }
            }
            while head < ahead.count { try deliverOldest() }
        } catch {
            // Let reads still running finish before returning.
            for f in ahead[head...] { _ = try? f.wait() }
            throw error
        }
    }

    /// Chunk entry holding `offset` and its start, descending through manifest levels.
    package func locate(_ offset: UInt64) throws -> (entry: Manifest.Entry, start: UInt64)? {
        var m = root
        var base: UInt64 = 0
        while true {
            guard let i = m.index(containing: offset - base) else { return nil }
            let start = base + m.start(at: i)
            if m.level == 0 { return (m.entry(at: i), start) }
            let child = try repo.manifest(m.id(at: i))
            try Self.checkChild(child, of: m, at: i)
            m = child
            base = start
        }
    }

    /// A child manifest must be one level below its parent and as long as the parent's entry.
    static func checkChild(_ child: Manifest, of parent: Manifest, at i: Int) throws {
        guard child.level + 1 == parent.level, child.totalSize == parent.entry(at: i).length else {
            throw ArkError(.corrupt, "manifest \(parent.id(at: i)) does not match its parent's entry")
        }
    }
}

/// The result of one chunk read running on another thread.
final class ChunkFuture: @unchecked Sendable {  // `result` is written once before `done` signals and read only after waiting on it
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<[UInt8], any Error> = .success([])

    func run(_ body: () throws -> [UInt8]) {
        result = Result { try body() }
        done.signal()
    }

    func wait() throws -> [UInt8] {
        done.wait()
        done.signal()  // a later wait (error clean-up) returns at once
        return try result.get()
    }
}
