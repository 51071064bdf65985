import Foundation
import Synchronization

@testable import ArkCore
@testable import ArkFS

/// An in-memory `ObjectSource` for driving the filesystem without a kernel or a store: trees,
/// manifests and chunks by id, one commit, counted loads, and injectable failures and delays.
final class MemorySource: ObjectSource, @unchecked Sendable {  // objects are filled before the filesystem is created, then only read; counters and faults sit behind a Mutex
    struct Faults {
        var chunkErrors: [ObjectID: ArkError] = [:]
        var chunkDelay: Double = 0
    }

    private(set) var trees: [ObjectID: Tree] = [:]
    private(set) var manifests: [ObjectID: Manifest] = [:]
    private(set) var chunkBytes: [ObjectID: [UInt8]] = [:]
    private(set) var commits: [ObjectID: CommitSummary] = [:]
    let node = ObjectID(bytes: [UInt8](repeating: 7, count: 32))
    /// Heads the history browser sees (none unless a test sets them).
    var headList: [Head] = []
    let faults = Mutex(Faults())
    let loads = Mutex<[ObjectID: Int]>([:])

    /// Stores `content` as a file split at `chunkSizes` (the rest as one last chunk); returns its tree entry.
    func file(_ name: FileName, _ content: [UInt8], chunkSizes: [Int] = [], executable: Bool = false) -> Tree.Entry {
        var entries: [Manifest.Entry] = []
        var pos = 0
        for size in chunkSizes + [content.count] where pos < content.count {
            let piece = Array(content[pos..<min(pos + size, content.count)])
            let id = ObjectHasher.hash(.chunk, piece)
            chunkBytes[id] = piece
            entries.append(Manifest.Entry(id: id, length: UInt64(piece.count)))
            pos += piece.count
        }
        let m = Manifest(entries: entries)
        let id = ObjectHasher.hash(.manifest, m.bytes)
        manifests[id] = m
        return .file(name, manifest: id, size: UInt64(content.count), executable: executable)
    }

    func directory(_ name: FileName, _ entries: [Tree.Entry]) throws -> Tree.Entry {
        let t = try Tree(entries: entries)
        let id = ObjectHasher.hash(.tree, t.encoded())
        trees[id] = t
        return .directory(name, tree: id, size: t.totalSize)
    }

    /// A commit of a root directory made of `entries`.
    func commit(_ entries: [Tree.Entry], time: Int64 = 1_700_000_000, parents: [ObjectID] = []) throws -> ObjectID {
        let root = try directory("", entries)
        let id = ObjectHasher.hash(.commit, Array("commit \(commits.count)".utf8))
        commits[id] = CommitSummary(
            id: id, tree: root.id!, generation: 1 + Int64(parents.count), parents: parents, authorName: "a", authorEmail: "a@example.org",
            authorTime: time, authorTZ: 0, committerTime: time, committerTZ: 0, message: "m",
            changeID: nil, sourceID: nil, node: node)
        return id
    }

    func loadCount(_ id: ObjectID) -> Int { loads.withLock { $0[id] ?? 0 } }

    // MARK: ObjectSource

    func tree(_ id: ObjectID) throws -> Tree {
        guard let t = trees[id] else { throw ArkError(.notFound, "tree \(id)") }
        return t
    }

    func manifest(_ id: ObjectID) throws -> Manifest {
        guard let m = manifests[id] else { throw ArkError(.notFound, "manifest \(id)") }
        return m
    }

    func chunk(_ id: ObjectID) throws -> [UInt8] {
        loads.withLock { $0[id, default: 0] += 1 }
        let (error, delay) = faults.withLock { ($0.chunkErrors[id], $0.chunkDelay) }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        if let error { throw error }
        guard let b = chunkBytes[id] else { throw ArkError(.missing, "chunk \(id)") }
        return b
    }

    func isPresent(_ id: ObjectID) throws -> Bool { chunkBytes[id] != nil }
    func commitSummary(_ id: ObjectID) throws -> CommitSummary? { commits[id] }
    func heads(repo: String?) throws -> [Head] { headList.filter { repo == nil || $0.ref.repo == repo } }
    func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] { [] }
    func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID] { [] }
    func commits(changeID: String) throws -> [ObjectID] { [] }
    var localNode: ObjectID { node }
    func peerName(_ node: ObjectID) -> String? { nil }
}

/// Deterministic bytes: position-dependent, so a misplaced slice shows.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 8) &+ Int(seed)) }
}

extension Filesystem {
    /// `read` made synchronous for tests: the bytes of [offset, offset+count), or the error.
    func readSync(_ file: OpenFile, offset: UInt64, count: Int, ino: UInt64 = 99) -> Result<[UInt8], ArkError> {
        let done = DispatchSemaphore(value: 0)
        let out = Mutex<Result<[UInt8], ArkError>?>(nil)
        read(file, offset: offset, count: count, ino: ino) { result in
            out.withLock { $0 = result.map { r in r.withBuffers { parts in parts.flatMap { Array($0) } } } }
            done.signal()
        }
        done.wait()
        return out.withLock { $0! }
    }

    /// Looks `path` up from the root, component by component, as the kernel would.
    func lookup(_ path: String) throws -> (ino: UInt64, node: Node)? {
        var ino = InodeTable.rootIno
        guard var node = inodes.node(ino) else { return nil }
        for name in path.split(separator: "/").map({ FileName(String($0)) }) {
            guard let child = try child(of: node, named: name, parentIno: ino) else { return nil }
            ino = inodes.remember(parent: ino, name: name, node: child)
            node = child
        }
        return (ino, node)
    }
}

extension Filesystem {
    /// The node at `path`, or a not-found error.
    func node(at path: String) throws -> Node {
        guard let found = try lookup(path) else { throw ArkError(.notFound, "no \(path) in the mounted tree") }
        return found.node
    }
}
