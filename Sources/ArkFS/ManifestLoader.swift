import ArkCore
import Synchronization

/// Loads file manifests for the mount: whole ones are verified (hashed) once and kept,
/// bounded (immutable, so never stale), so repeated opens by tar, cp or rsync do not read and
/// hash them again. A large manifest not loaded yet can be opened from its leading records,
/// which are kept too. Concurrent loads of one manifest share one read: a file's first read
/// waits for the load its lookup or open started (`Filesystem.readFirstBytesAhead`) instead
/// of repeating it.
final class ManifestLoader: Sendable {
    private struct State {
        var whole: [ObjectID: Manifest] = [:]
        var prefixes: [ObjectID: ManifestPrefix] = [:]
    }

    private let source: ObjectSource
    private let state = Mutex(State())
    private let loads = SingleFlight<ObjectID, ManifestView>()
    static let maxWhole = 8192
    /// A prefix holds one 16 KiB block: at most 4 MiB of them.
    static let maxPrefixes = 256

    init(source: ObjectSource) { self.source = source }

    /// The whole verified manifest.
    func whole(_ id: ObjectID) throws -> Manifest {
        if let m = state.withLock({ $0.whole[id] }) { return m }
        let m = try source.manifest(id)
        state.withLock { s in
            if s.whole.count >= Self.maxWhole { s.whole.removeAll(keepingCapacity: true) }
            s.whole[id] = m
            s.prefixes[id] = nil
        }
        return m
    }

    /// The whole manifest if already loaded; else, for a large one whose blocks this node
    /// tagged, just its leading records (one 16 KiB read, no hashing of the rest); else the
    /// whole one. Anything unusual about the prefix (no tags, a tag mismatch, a malformed
    /// header) takes the whole path, which verifies and reports.
    func view(_ id: ObjectID) throws -> ManifestView {
        if let v = cached(id) { return v }
        return try loads.run(id) {
            if let v = cached(id) { return v }
            if let p = try? source.manifestPrefix(id) {
                state.withLock { s in
                    if s.prefixes.count >= Self.maxPrefixes { s.prefixes.removeAll(keepingCapacity: true) }
                    s.prefixes[id] = p
                }
                return .prefix(p)
            }
            return .whole(try whole(id))
        }
    }

    private func cached(_ id: ObjectID) -> ManifestView? {
        state.withLock { s in
            if let m = s.whole[id] { return .whole(m) }
            return s.prefixes[id].map { .prefix($0) }
        }
    }
}
