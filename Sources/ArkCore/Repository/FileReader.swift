import Dispatch
import Synchronization

/// Reads a file's bytes through its manifest; every chunk is hash-verified before use.
public struct FileReader: Sendable {
    public let repo: Repository
    public let root: Manifest

    public init(repo: Repository, manifest: ObjectID) throws {
        self.repo = repo
        self.root = try repo.manifest(manifest)
    }

    public var size: UInt64 { root.totalSize }

    /// Leaf (chunk) entries with their absolute start offsets, in file order.
    public func forEachChunkEntry(_ body: (Manifest.Entry, UInt64) throws -> Void) throws {
        func walk(_ m: Manifest, base: UInt64) throws {
            for i in 0..<m.count {
                let start = base + m.start(at: i)
                if m.level == 0 { try body(m.entry(at: i), start) } else {
                    let child = try repo.manifest(m.id(at: i))
                    try Self.checkChild(child, of: m, at: i)
                    try walk(child, base: start)
                }
            }
        }
        try walk(root, base: 0)
    }

    /// Streams the whole file in order, verifying up to `parallelism` chunks at once.
    public func stream(parallelism: Int = 4, _ sink: ([UInt8]) throws -> Void) throws {
        var batch: [ObjectID] = []
        func flush() throws {
            let ids = batch
            let results = Mutex<[Result<[UInt8], ArkError>?]>(Array(repeating: nil, count: ids.count))
            let repo = self.repo
            DispatchQueue.concurrentPerform(iterations: ids.count) { i in
                let r: Result<[UInt8], ArkError>
                do { r = .success(try repo.read(ids[i], kind: .chunk)) } catch let e as ArkError { r = .failure(e) } catch {
                    r = .failure(ArkError(.io, "\(error)"))
                }
                results.withLock { $0[i] = r }
            }
            for r in results.withLock({ $0 }) { try sink(try r!.get()) }
            batch.removeAll(keepingCapacity: true)
        }
        try forEachChunkEntry { e, _ in
            batch.append(e.id)
            if batch.count >= parallelism { try flush() }
        }
        if !batch.isEmpty { try flush() }
    }

    /// Chunk entry holding `offset` and its start, descending through manifest levels.
    public func locate(_ offset: UInt64) throws -> (entry: Manifest.Entry, start: UInt64)? {
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
