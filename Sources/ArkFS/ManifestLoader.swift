import ArkCore
import Dispatch
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
        var loading: [ObjectID: Flight] = [:]
    }

    /// A load in progress; other callers wait for its result.
    private final class Flight: Sendable {
        private let done = DispatchGroup()
        private let result = Mutex<Result<ManifestView, Error>?>(nil)

        init() { done.enter() }

        func finish(_ r: Result<ManifestView, Error>) {
            result.withLock { $0 = r }
            done.leave()
        }

        func wait() throws -> ManifestView {
            done.wait()
            return try result.withLock { $0! }.get()
        }
    }

    private let source: ObjectSource
    private let state = Mutex(State())
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
        enum Step { case done(ManifestView), wait(Flight), load(Flight) }
        let step: Step = state.withLock { s in
            if let m = s.whole[id] { return .done(.whole(m)) }
            if let p = s.prefixes[id] { return .done(.prefix(p)) }
            if let f = s.loading[id] { return .wait(f) }
            let f = Flight()
            s.loading[id] = f
            return .load(f)
        }
        switch step {
        case .done(let v): return v
        case .wait(let f): return try f.wait()
        case .load(let f):
            let r = Result { () throws -> ManifestView in
                if let p = try? source.manifestPrefix(id) { return .prefix(p) }
                return .whole(try whole(id))
            }
            state.withLock { s in
                s.loading[id] = nil
                if case .success(.prefix(let p)) = r, s.whole[id] == nil {
                    if s.prefixes.count >= Self.maxPrefixes { s.prefixes.removeAll(keepingCapacity: true) }
                    s.prefixes[id] = p
                }
            }
            f.finish(r)
            return try r.get()
        }
    }
}
