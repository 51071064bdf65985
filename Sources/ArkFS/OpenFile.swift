import ArkCore
import Synchronization

/// An open file: its manifest and sequential-read detection. A reader that keeps reading
/// where it stopped grows a read-ahead window (2 chunks, doubling up to 64); a seek resets it.
///
/// A large manifest may start as just its leading records (`ManifestView.prefix`): the first
/// bytes of a file are served without reading its whole manifest, which is loaded (and
/// hashed) the first time a read goes past them.
final class OpenFile: Sendable {
    let node: Node.Entry
    let size: UInt64
    private let id: ObjectID
    private let loader: ManifestLoader
    private struct ReadState { var nextOffset: UInt64 = 0; var window = 0; var prefetchedUpTo: UInt64 = 0 }
    private let state = Mutex(ReadState())
    /// The file's manifest, loaded by the first read (usually already loading: see
    /// `Filesystem.readFirstBytesAhead`), so open itself reads nothing.
    private let root = Mutex<ManifestView?>(nil)
    /// Lower-level manifests of very large files (level > 0), by id.
    private let children = Mutex<[ObjectID: ManifestView]>([:])

    static let maxWindow = 64

    init(node: Node.Entry, id: ObjectID, loader: ManifestLoader) {
        self.node = node
        self.id = id
        self.size = node.size
        self.loader = loader
    }

    /// Chunk entries (id, absolute start, length) covering [offset, offset+count).
    func chunks(offset: UInt64, count: Int) throws -> [(id: ObjectID, start: UInt64, length: UInt64)] {
        var out: [(ObjectID, UInt64, UInt64)] = []
        var pos = offset
        let end = min(offset + UInt64(count), size)
        while pos < end {
            guard let (e, start) = try locate(pos) else { break }
            out.append((e.id, start, e.length))
            pos = start + e.length
        }
        return out
    }

    /// The chunk holding `offset`, through manifest levels (children cached per open file).
    func locate(_ offset: UInt64) throws -> (Manifest.Entry, UInt64)? {
        var id = self.id
        var m: ManifestView
        if let r = root.withLock({ $0 }) {
            m = r
        } else {
            m = try loader.view(id)
            guard m.totalSize == size else {
                throw ArkError(.corrupt, "manifest \(id) describes \(m.totalSize) bytes, its tree entry \(size)")
            }
            root.withLock { if case .none = $0 { $0 = m } }
        }
        var base: UInt64 = 0
        while true {
            guard offset - base < m.totalSize else { return nil }
            guard let i = m.index(containing: offset - base) else {
                guard m.isPrefix else { return nil }
                // Past the leading records read at open: load the whole manifest, once.
                let whole = ManifestView.whole(try loader.whole(id))
                if id == self.id { root.withLock { $0 = whole } } else { remember(id, whole) }
                m = whole
                continue
            }
            let start = base + m.start(at: i)
            if m.level == 0 { return (m.entry(at: i), start) }
            let parent = (id: id, level: m.level, length: m.entry(at: i).length)
            id = m.id(at: i)
            if let c = children.withLock({ $0[id] }) {
                m = c
            } else {
                m = try loader.view(id)
                remember(id, m)
            }
            // Hashes cannot catch a parent entry that disagrees with its child (the levels
            // must step down by one, the lengths agree); without this a read could loop.
            guard m.level + 1 == parent.level, m.totalSize == parent.length else {
                throw ArkError(
                    .corrupt,
                    "manifest \(id) (level \(m.level), \(m.totalSize) bytes) does not match its entry in manifest \(parent.id) (level \(parent.level), \(parent.length) bytes)"
                )
            }
            base = start
        }
    }

    private func remember(_ id: ObjectID, _ m: ManifestView) {
        children.withLock {
            if $0.count > 64 { $0.removeAll() }; $0[id] = m
        }
    }

    /// Where read-ahead should continue for a reader at `offset` with a window of `bytes`, or
    /// nil while at least half the window is already requested ahead of it (so read-ahead goes
    /// out in batches that can be read with few large I/Os, not a chunk per request).
    func readAheadStart(at offset: UInt64, windowBytes: UInt64) -> UInt64? {
        state.withLock { s in
            if s.prefetchedUpTo > offset && s.prefetchedUpTo - offset >= windowBytes / 2 { return nil }
            return max(offset, s.prefetchedUpTo)
        }
    }

    func notePrefetched(upTo end: UInt64) { state.withLock { $0.prefetchedUpTo = max($0.prefetchedUpTo, end) } }

    /// Records a read and returns the read-ahead window (in chunks) it earns.
    func noteRead(offset: UInt64, count: Int) -> Int {
        state.withLock { s in
            if offset == s.nextOffset || (offset < s.nextOffset && offset + UInt64(count) > s.nextOffset) {
                s.window = s.window == 0 ? 2 : min(s.window * 2, Self.maxWindow)
            } else if offset != 0 {
                s.window = 0
                s.prefetchedUpTo = 0
            } else {
                s.window = 2
                s.prefetchedUpTo = 0
            }
            s.nextOffset = offset + UInt64(count)
            return s.window
        }
    }
}
