import GRDB

/// Chooses the base a new tree is delta-compressed against: the last tree written with the
/// same entry names (the same directory one commit earlier, typically, where a few ids
/// changed). Remembered in memory for a session and in the index (`delta_bases`) across
/// sessions. A base is only a compression hint: the delta object is verified against its own
/// id when read, whatever base it names.
final class TreeDeltaBases {
    struct Base {
        var id: ObjectID
        var bytes: [UInt8]
        var depth: Int
    }

    /// Chains stay short so reading a tree resolves at most this many bases.
    static let maxDepth = 16
    static let maxRemembered = 4096
    /// And at most this many bytes of them: one commit of a tree with thousands of large
    /// directories writes thousands of distinct shapes, and their bytes made the commit's
    /// memory grow with the tree (60 MB at 1,000,000 files in 5,141 directories).
    static let maxRememberedBytes = 8 << 20

    private let repo: Repository
    private var recent: [UInt64: Base] = [:]
    private var recentBytes = 0
    private(set) var unpublished: [(shape: UInt64, id: ObjectID, depth: Int)] = []

    init(repo: Repository) { self.repo = repo }

    /// A key for the tree's entry names (FNV-1a over the names, NUL-separated); nil if the
    /// bytes are not a tree.
    static func shape(of bytes: [UInt8]) -> UInt64? {
        guard let tree = try? Tree(decoding: bytes), tree.entries.count >= 4 else { return nil }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for e in tree.entries {
            for b in e.name.bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0) &* 0x100_0000_01b3
        }
        return h
    }

    func base(for shape: UInt64) -> Base? {
        if let b = recent[shape] { return b }
        guard let (id, depth) = try? repo.index.deltaBase(shape: shape),
            let bytes = try? repo.read(id, kind: .tree)
        else { return nil }
        let b = Base(id: id, bytes: bytes, depth: depth)
        remember(shape, b)
        return b
    }

    func record(_ shape: UInt64, _ base: Base) {
        remember(shape, base)
        unpublished.append((shape, base.id, base.depth))
    }

    func published() { unpublished.removeAll(keepingCapacity: true) }

    private func remember(_ shape: UInt64, _ base: Base) {
        if recent.count >= Self.maxRemembered || recentBytes + base.bytes.count > Self.maxRememberedBytes {
            recent.removeAll(keepingCapacity: true)
            recentBytes = 0
        }
        recentBytes += base.bytes.count - (recent.updateValue(base, forKey: shape)?.bytes.count ?? 0)
    }
}

extension Index {
    func deltaBase(shape: UInt64) throws -> (ObjectID, Int)? {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT d.tree, d.depth FROM delta_bases d JOIN objects o ON o.id = d.tree
                        WHERE d.shape = ? AND o.pack IS NOT NULL
                        """, arguments: [Int64(bitPattern: shape)])
            else { return nil }
            return (row[0], row[1])
        }
    }

    static func setDeltaBases(_ db: Database, _ bases: [(shape: UInt64, id: ObjectID, depth: Int)]) throws {
        guard !bases.isEmpty else { return }
        let stmt = try db.cachedStatement(sql: "INSERT OR REPLACE INTO delta_bases (shape, tree, depth) VALUES (?, ?, ?)")
        for b in bases { try stmt.execute(arguments: [Int64(bitPattern: b.shape), b.id, b.depth]) }
    }
}
