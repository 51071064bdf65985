import ArkCore

/// A pull's walk over the trees and manifests of new commits, one directory level at a time and
/// a page of ids at a time. The level being walked, the next one, the ids walked so far and the
/// chunk ids found are `ObjectIDSet`s, which move to temporary SQLite files past their memory
/// limits: a commit of any number of files is pulled in bounded memory.
final class PullWalk: @unchecked Sendable {  // one pull task owns it and awaits each call (on the blocking pool) before the next, so no two threads use it at once
    /// Ids fetched (or read) and decoded at a time: one request's worth.
    static let pageSize = SyncLimits.maxObjectsPerRequest
    /// Ids of one level kept in memory before the level spills.
    static let levelMemoryLimit = min(ObjectIDSet.defaultMemoryLimit, 65_536)
    /// Subdirectory lists kept for the height check (in entries); trees past it are read back.
    static let subdirectoryEntries = 65_536

    /// Trees and manifests met so far: each is walked once.
    private let visited = ObjectIDSet()
    /// Chunks named by level-0 manifests; value: raw length.
    let chunks = ObjectIDSet()
    private var level = ObjectIDSet(memoryLimit: PullWalk.levelMemoryLimit)
    private var next = ObjectIDSet(memoryLimit: PullWalk.levelMemoryLimit)
    private var cursor = ObjectIDSet.Cursor()
    private var nextHasTrees = false
    /// Levels walked that held trees.
    private(set) var treeLevels = 0
    /// Subdirectories of walked trees, while they fit `subdirectoryEntries`.
    private(set) var subdirectories: [ObjectID: [ObjectID]] = [:]
    private var subdirectoryCount = 0

    init(roots: [ObjectID]) throws {
        try next.insertNew(roots, value: { _ in Int64(ObjectKind.tree.rawValue) })
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

    /// The next page of the current level's objects not walked before; nil at the level's end.
    func nextPage() throws -> [(ObjectID, ObjectKind)]? {
        while true {
            let page = try level.nextPage(&cursor, limit: Self.pageSize)
            if page.isEmpty { return nil }
            let kinds = Dictionary(page.map { ($0.id, $0.value) }, uniquingKeysWith: { a, _ in a })
            let fresh = try visited.insertNew(page.map(\.id))
            if !fresh.isEmpty {
                return fresh.map { ($0, ObjectKind(rawValue: UInt8(truncatingIfNeeded: kinds[$0]!)) ?? .tree) }
            }
        }
    }

    /// Records what `objects` (trees and manifests, already checked against their ids) name:
    /// subtrees and manifests for the next level, chunks in `chunks`. An object that does not
    /// decode is a protocol violation.
    func add(_ objects: [(ObjectID, ObjectKind, [UInt8])]) throws {
        var trees: [ObjectID] = []
        var manifests: [ObjectID] = []
        var found: [(ObjectID, UInt64)] = []
        for (id, kind, bytes) in objects {
            do {
                if kind == .tree {
                    var dirs: [ObjectID] = []
                    for e in try Tree(decoding: bytes).entries {
                        guard let child = e.id else { continue }
                        switch e.kind {
                        case .directory: dirs.append(child)
                        case .file, .executable: manifests.append(child)
                        default: break
                        }
                    }
                    trees += dirs
                    if subdirectoryCount + dirs.count < Self.subdirectoryEntries {
                        subdirectories[id] = dirs
                        subdirectoryCount += dirs.count + 1
                    }
                } else {
                    let m = try Manifest(decoding: bytes)
                    for i in 0..<m.count {
                        let e = m.entry(at: i)
                        if m.level > 0 { manifests.append(e.id) } else { found.append((e.id, e.length)) }
                    }
                }
            } catch {
                throw SyncError.protocolViolation("\(kind) \(id.short) does not decode: \(error)")
            }
        }
        if !trees.isEmpty {
            try next.insertNew(trees, value: { _ in Int64(ObjectKind.tree.rawValue) })
            nextHasTrees = true
        }
        try next.insertNew(manifests, value: { _ in Int64(ObjectKind.manifest.rawValue) })
        let lengths = Dictionary(found, uniquingKeysWith: { a, _ in a })
        try chunks.insertNew(found.map(\.0), value: { Int64(lengths[$0]!) })
    }

    /// The chunks found that are not stored here (value: raw length), with their number and
    /// bytes. With `keep`, those that are stored leave the evictable cache.
    func missingChunks(_ index: Index, keep: Bool) throws -> (ids: ChunkIDs, count: Int, bytes: UInt64) {
        let missing = ObjectIDSet()
        var count = 0
        var bytes: UInt64 = 0
        try chunks.forEachPage(size: 8192) { page in
            let present = try index.presentSet(page.map(\.id))
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
