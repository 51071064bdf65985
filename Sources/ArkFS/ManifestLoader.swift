import ArkCore
import Synchronization

/// Loads file manifests for the mount: whole ones are verified (hashed) once and kept,
/// bounded (immutable, so never stale), so repeated opens by tar, cp or rsync do not read and
/// hash them again. A large manifest not loaded yet can be opened from its leading records.
final class ManifestLoader: Sendable {
    private let source: ObjectSource
    private let manifests = Mutex<[ObjectID: Manifest]>([:])

    init(source: ObjectSource) { self.source = source }

    /// The whole verified manifest.
    func whole(_ id: ObjectID) throws -> Manifest {
        if let m = manifests.withLock({ $0[id] }) { return m }
        let m = try source.manifest(id)
        manifests.withLock { if $0.count >= 8192 { $0.removeAll(keepingCapacity: true) }; $0[id] = m }
        return m
    }

    /// The whole manifest if already loaded; else, for a large one whose blocks this node
    /// tagged, just its leading records (one 16 KiB read, no hashing of the rest); else the
    /// whole one. Anything unusual about the prefix (no tags, a tag mismatch, a malformed
    /// header) takes the whole path, which verifies and reports.
    func view(_ id: ObjectID) throws -> ManifestView {
        if let m = manifests.withLock({ $0[id] }) { return .whole(m) }
        if let p = try? source.manifestPrefix(id) { return .prefix(p) }
        return .whole(try whole(id))
    }
}
