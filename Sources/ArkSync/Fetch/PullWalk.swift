import ArkCore

/// A pull's walk over the trees and manifests of new commits, one directory level at a time and
/// a page of ids at a time. The level being walked, the next one, the objects walked so far and
/// the chunk ids found are `ObjectIDSet`s, which move to temporary SQLite files past their
/// memory limits: a commit of any number of files is pulled in bounded memory.
///
/// Every object is checked against what its parent says it is before it is stored (`add`): a
/// directory entry names a tree, a file entry a manifest, a level-n manifest's entries level n-1
/// manifests as long as the entries (level 0: chunks). A peer whose objects hash right but lie
/// about the structure is refused with a `SyncError.protocolViolation` naming the object.
final class PullWalk: @unchecked Sendable {  // one pull task owns it and awaits each call (on the blocking pool) before the next, so no two threads use it at once
    /// Ids fetched (or read) and decoded at a time: one request's worth.
    static let pageSize = SyncLimits.maxObjectsPerRequest
    /// Bytes of objects read back from the store and decoded at a time (one larger object is
    /// read alone), the same bound a peer's response has.
    static let batchBytes = SyncLimits.responseBudget
    /// Ids of one level kept in memory before the level spills.
    static let levelMemoryLimit = min(ObjectIDSet.defaultMemoryLimit, 65_536)
    /// Subdirectory lists kept for the height check (in entries); trees past it are read back.
    static let subdirectoryEntries = 65_536

    /// What a parent says an object is, kept as the value of its id in the level sets.
    enum Expectation: Equatable {
        case tree
        /// A file's manifest: any level, the size its tree entry gives (below 2^56: made by
        /// `file(_:)`).
        case file(size: UInt64)
        /// A manifest entry's child: this level and size (below 2^56: made by `exact`; levels
        /// are at most `Manifest.maxLevel`, 3, so the value stays positive).
        case shape(level: UInt8, size: UInt64)

        var kind: ObjectKind { self == .tree ? .tree : .manifest }

        var value: Int64 {
            switch self {
            case .tree: -1
            case .file(let size): -2 - Int64(size)
            case .shape(let level, let size): Int64(level) << 56 | Int64(size)
            }
        }

        init(_ value: Int64) {
            switch value {
            case -1: self = .tree
            case ..<0: self = .file(size: UInt64(-2 - value))
            default: self = .shape(level: UInt8(value >> 56), size: UInt64(value & (1 << 56 - 1)))
            }
        }

        /// A file's manifest of `size` bytes; nil for sizes no file has (2^56 bytes or more).
        static func file(_ size: UInt64) -> Expectation? {
            size < 1 << 56 ? .file(size: size) : nil
        }

        /// A manifest of `level` and `size` as an expectation; nil for sizes no file has (2^56
        /// bytes or more), which the walk refuses.
        static func exact(_ level: UInt8, _ size: UInt64) -> Expectation? {
            size < 1 << 56 ? .shape(level: level, size: size) : nil
        }

        var description: String {
            switch self {
            case .tree: "a tree"
            case .file(let size): "a file's manifest of \(size) bytes"
            case .shape(let level, let size): "a level-\(level) manifest of \(size) bytes"
            }
        }
    }

    /// Trees and manifests walked (decoded and checked): each is walked once. Value: what it
    /// is (`Expectation.tree`, or its exact shape).
    private let visited = ObjectIDSet()
    /// Chunks named by level-0 manifests; value: raw length.
    let chunks = ObjectIDSet()
    private var level = ObjectIDSet(memoryLimit: PullWalk.levelMemoryLimit)
    private var next = ObjectIDSet(memoryLimit: PullWalk.levelMemoryLimit)
    /// Shapes a manifest entry requires of a child that a file entry of the same level named
    /// first (the level set keeps one expectation per id): checked once the walk is done.
    private let deferred = ObjectIDSet(memoryLimit: PullWalk.levelMemoryLimit)
    private var cursor = ObjectIDSet.Cursor()
    private var nextHasTrees = false
    /// What the objects of the page being walked must be.
    private var page: [ObjectID: Expectation] = [:]
    /// Levels walked that held trees.
    private(set) var treeLevels = 0
    /// Subdirectories of walked trees, while they fit `subdirectoryEntries`.
    private(set) var subdirectories: [ObjectID: [ObjectID]] = [:]
    private var subdirectoryCount = 0
    /// The most bytes of objects handed to one `add` (a response, or a batch read back).
    private(set) var largestBatch = 0
    /// Trees and manifests walked, and their bytes.
    private(set) var objectsWalked = 0
    private(set) var bytesWalked = 0

    init(roots: [ObjectID]) throws {
        try next.insertNew(roots, value: { _ in Expectation.tree.value })
        nextHasTrees = !roots.isEmpty
    }

    /// Moves on to the level below; false when there is none (the walk is done).
    func advance() -> Bool {
        guard next.count > 0 else { return false }
        level = next
        next = ObjectIDSet(memoryLimit: Self.levelMemoryLimit)
        cursor = ObjectIDSet.Cursor()
        if nextHasTrees { treeLevels += 1 }
        nextHasTrees = false
        return true
    }

    /// The next page of the current level's objects not walked before, with what each must
    /// be; nil at the level's end. Objects walked before are checked against what this level
    /// says they are.
    func nextPage() throws -> [(ObjectID, Expectation)]? {
        while true {
            let ids = try level.nextPage(&cursor, limit: Self.pageSize)
            if ids.isEmpty { return nil }
            var fresh: [(ObjectID, Expectation)] = []
            for (id, value) in ids {
                let expected = Expectation(value)
                if let walked = try visited.value(of: id) {
                    try Self.check(id, is: Expectation(walked), expected)
                } else {
                    fresh.append((id, expected))
                }
            }
            if !fresh.isEmpty {
                page = Dictionary(fresh, uniquingKeysWith: { a, _ in a })
                return fresh
            }
        }
    }

    /// Checks `objects` (of the current page, each already checked against its id) against
    /// what their parents say they are and records what they name: subtrees and manifests for
    /// the next level, chunks in `chunks`. An object that does not decode or is not what its
    /// parent says is a protocol violation; nothing is recorded for it.
    func add(_ objects: [(ObjectID, [UInt8])]) throws {
        var trees: [ObjectID] = []
        var manifests: [(ObjectID, Expectation)] = []
        var found: [(ObjectID, UInt64)] = []
        var batch = 0
        for (id, bytes) in objects {
            guard let expected = page[id] else { throw SyncError.protocolViolation("object \(id.short) was not asked for") }
            batch += bytes.count
            do {
                if expected == .tree {
                    var dirs: [ObjectID] = []
                    for e in try Tree(decoding: bytes).entries {
                        guard let child = e.id else { continue }
                        switch e.kind {
                        case .directory: dirs.append(child)
                        case .file, .executable:
                            // The entry's size is the manifest's: checked when it is walked.
                            guard let file = Expectation.file(e.size) else {
                                throw SyncError.protocolViolation("tree \(id.short) gives a file of \(e.size) bytes")
                            }
                            manifests.append((child, file))
                        default: break
                        }
                    }
                    trees += dirs
                    if subdirectoryCount + dirs.count < Self.subdirectoryEntries {
                        subdirectories[id] = dirs
                        subdirectoryCount += dirs.count + 1
                    }
                    try visited.insert(id, value: Expectation.tree.value)
                } else {
                    let m = try Manifest(decoding: bytes)
                    guard let shape = Expectation.exact(m.level, m.totalSize) else {
                        throw SyncError.protocolViolation("manifest \(id.short) claims \(m.totalSize) bytes")
                    }
                    try Self.check(id, is: shape, expected)
                    for i in 0..<m.count {
                        let e = m.entry(at: i)
                        if m.level > 0 {
                            guard let child = Expectation.exact(m.level - 1, e.length) else {
                                throw SyncError.protocolViolation("manifest \(id.short) names a manifest of \(e.length) bytes")
                            }
                            manifests.append((e.id, child))
                        } else {
                            found.append((e.id, e.length))
                        }
                    }
                    try visited.insert(id, value: shape.value)
                }
            } catch let e as SyncError {
                throw e
            } catch {
                throw SyncError.protocolViolation("\(expected.kind) \(id.short) does not decode: \(error)")
            }
        }
        largestBatch = max(largestBatch, batch)
        objectsWalked += objects.count
        bytesWalked += batch
        if !trees.isEmpty {
            try insertNext(trees.map { ($0, .tree) })
            nextHasTrees = true
        }
        try insertNext(manifests)
        let lengths = Dictionary(found, uniquingKeysWith: { a, _ in a })
        try chunks.insertNew(found.map(\.0), value: { Int64(lengths[$0]!) })
    }

    /// Adds children to the next level. One id named twice must be named as the same thing:
    /// a tree and a manifest, or manifests of two shapes, cannot both be true.
    private func insertNext(_ children: [(ObjectID, Expectation)]) throws {
        guard !children.isEmpty else { return }
        var expected: [ObjectID: Expectation] = [:]
        var order: [ObjectID] = []
        for (id, want) in children {
            if let have = expected[id] {
                expected[id] = try Self.merge(id, have, want)
            } else {
                expected[id] = want
                order.append(id)
            }
        }
        let fresh = Set(try next.insertNew(order, value: { expected[$0]!.value }))
        for id in order where !fresh.contains(id) {
            guard let value = try next.value(of: id) else { continue }
            let have = Expectation(value)
            let merged = try Self.merge(id, have, expected[id]!)
            guard merged != have else { continue }
            // A file entry named it first (a size only); the entry's shape is checked once the
            // child is walked (`finish`).
            if !(try deferred.insert(id, value: merged.value)), let other = try deferred.value(of: id) {
                _ = try Self.merge(id, Expectation(other), merged)
            }
        }
    }

    /// What an object named as both `a` and `b` must be; a protocol violation if nothing is both.
    static func merge(_ id: ObjectID, _ a: Expectation, _ b: Expectation) throws -> Expectation {
        switch (a, b) {
        case _ where a == b: return a
        case (.shape(_, let s), .file(let f)) where s == f: return a
        case (.file(let f), .shape(_, let s)) where s == f: return b
        default: throw SyncError.protocolViolation("\(id.short) is named as \(a.description) and as \(b.description)")
        }
    }

    /// Checks what the walk could not check object by object; call once `advance` returned false.
    func finish() throws {
        try deferred.forEachPage(size: 8192) { page in
            for (id, value) in page {
                guard let walked = try visited.value(of: id) else { continue }
                try Self.check(id, is: Expectation(walked), Expectation(value))
            }
        }
    }

    /// Throws unless an object that is `actual` satisfies `expected`.
    static func check(_ id: ObjectID, is actual: Expectation, _ expected: Expectation) throws {
        switch (actual, expected) {
        case (.tree, .tree): return
        case (.shape, .shape) where actual == expected: return
        case (.shape(_, let s), .file(let f)) where s == f: return
        case (.shape, .shape), (.shape, .file):
            throw SyncError.protocolViolation(
                "manifest \(id.short) is \(actual.description); its parent's entry needs \(expected.description)")
        default:
            throw SyncError.protocolViolation("\(actual.kind) \(id.short) is named as \(expected.description)")
        }
    }

    /// The chunks found that are not stored here (value: raw length), with their number and
    /// bytes. With `keep`, those that are stored leave the evictable cache. A chunk id that is
    /// a tree or manifest (walked here, or known to the index as one) is a protocol violation.
    func missingChunks(_ index: Index, keep: Bool) throws -> (ids: ChunkIDs, count: Int, bytes: UInt64) {
        let missing = ObjectIDSet()
        var count = 0
        var bytes: UInt64 = 0
        try chunks.forEachPage(size: 8192) { page in
            let ids = page.map(\.id)
            if let walked = try visited.filterContained(ids).first {
                throw SyncError.protocolViolation("a level-0 manifest names \(walked.short) as a chunk, but it is a tree or manifest")
            }
            let rows = try index.objects(ids)
            if let other = rows.values.first(where: { $0.kind != .chunk }) {
                throw SyncError.protocolViolation("a level-0 manifest names \(other.id.short) as a chunk, but it is a \(other.kind) here")
            }
            let present = Set(rows.values.filter(\.isPresent).map(\.id))
            if keep { try index.keepChunks(present) }
            let absent = page.filter { !present.contains($0.id) }
            let lengths = Dictionary(absent.map { ($0.id, $0.value) }, uniquingKeysWith: { a, _ in a })
            try missing.insertNew(absent.map(\.id), value: { lengths[$0]! })
            count += absent.count
            bytes += absent.reduce(UInt64(0)) { $0 + UInt64($1.value) }
        }
        return (ChunkIDs(missing), count, bytes)
    }
}

/// Chunk ids (value: raw length) a pull hands to its replication.
final class ChunkIDs: @unchecked Sendable {  // handed from the pull to the one replication task, which then owns it and awaits each use before the next
    let set: ObjectIDSet

    init(_ set: ObjectIDSet) { self.set = set }

    var count: Int { self.set.count }
}
