import ArkCore
import ArkFS
import ArkSync
import Dispatch
import Foundation
import Logging
import Synchronization

/// The mount's view of the store while the daemon runs in the same process: local objects
/// first; a chunk that is not stored here is fetched from peers (the one that announced the
/// mounted commit first, then the others), verified, stored as an evictable cache entry and
/// served, with the fetcher's deadline so a read never hangs. The cache is kept within
/// `[store] cache_limit` by evicting the least recently used fetched chunks.
struct SyncedObjectSource: ObjectSource {
    let local: LocalObjectSource
    let fetcher: ChunkFetcher
    let tracker: ConnectionTracker
    /// The mounted commit (nil for the history browser): its first announcer is asked first.
    let mountedCommit: ObjectID?
    /// Fallback when no announcement named the commit in this process: the peer whose head it is.
    let headOwner: ObjectID?
    let cache: CacheKeeper
    let failures = FetchFailures()

    init(local: LocalObjectSource, fetcher: ChunkFetcher, tracker: ConnectionTracker, mountedCommit: ObjectID?, cacheLimit: Int64) {
        self.local = local
        self.fetcher = fetcher
        self.tracker = tracker
        self.mountedCommit = mountedCommit
        let repo = fetcher.engine.repository
        let me = repo.identity.endpointID
        headOwner = mountedCommit.flatMap { c in (try? repo.index.heads())?.first { $0.commit == c && $0.ref.owner != me }?.ref.owner }
        cache = CacheKeeper(repository: repo, limit: cacheLimit)
    }

    var preferredPeer: ObjectID? { mountedCommit.flatMap { fetcher.engine.firstAnnouncer(of: $0) } ?? headOwner }

    /// Local chunks in one go. Those not stored here fail with `.missing`: the mount's cache
    /// then loads each on its own through `chunk(_:)`, which fetches them in parallel.
    func chunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>] {
        zip(ids, local.chunks(ids)).map { id, r in
            if case .success = r { cache.used(id) }
            return r
        }
    }

    func chunk(_ id: ObjectID, range: Range<Int>) throws -> [UInt8] {
        do {
            let bytes = try local.chunk(id, range: range)
            cache.used(id)
            return bytes
        } catch let e as ArkError where e.code == .missing || e.code == .notFound {
            let bytes = try chunk(id)
            return Array(bytes[range.clamped(to: 0..<bytes.count)])
        }
    }

    func chunk(_ id: ObjectID) throws -> [UInt8] {
        do {
            let bytes = try local.chunk(id)
            cache.used(id)
            return bytes
        } catch let e as ArkError where e.code == .missing || e.code == .notFound {
            if let failed = failures.recent(id) { throw failed }
            let result = Mutex<Result<[UInt8], Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            let preferred = preferredPeer
            Task {
                let r: Result<[UInt8], Error>
                // Right after start the dialers may still be connecting: wait for a peer, within
                // the same deadline a fetch has.
                await tracker.waitForAnyConnection(timeout: fetcher.deadline)
                do { r = .success(try await fetcher.fetch(id, preferring: preferred, asCache: true)) } catch { r = .failure(error) }
                result.withLock { $0 = r }
                done.signal()
            }
            done.wait()
            switch result.withLock({ $0! }) {
            case .success(let bytes):
                cache.fetched()
                return bytes
            case .failure(let error):
                let e: ArkError
                if case SyncError.timeout = error {
                    e = ArkError(.timeout, "chunk \(id) is not stored here and no peer delivered it within \(Int(fetcher.deadline)) s")
                } else if !tracker.hasConnection {
                    e = ArkError(.timeout, "chunk \(id) is not stored here and no peer connected within \(Int(fetcher.deadline)) s")
                } else {
                    e = ArkError(.missing, "chunk \(id) is not stored here and no peer delivered it: \(error)")
                }
                failures.record(id, e)
                throw e
            }
        }
    }

    func tree(_ id: ObjectID) throws -> Tree { try local.tree(id) }
    func manifest(_ id: ObjectID) throws -> Manifest { try local.manifest(id) }
    func manifestPrefix(_ id: ObjectID) throws -> ManifestPrefix? { try local.manifestPrefix(id) }
    func isPresent(_ id: ObjectID) throws -> Bool { try local.isPresent(id) }
    func commitSummary(_ id: ObjectID) throws -> CommitSummary? { try local.commitSummary(id) }
    func heads(repo: String?) throws -> [Head] { try local.heads(repo: repo) }
    func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] { try local.history(from: heads, limit: limit) }
    func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID] { try local.commits(withPrefix: prefix, limit: limit) }
    func commits(changeID: String) throws -> [ObjectID] { try local.commits(changeID: changeID) }
    var localNode: ObjectID { local.localNode }
    func peerName(_ node: ObjectID) -> String? { local.peerName(node) }
    func warmUp(readers: Int) { local.warmUp(readers: readers) }
}

/// Keeps the on-disk cache of fetched chunks within its limit. Reads of stored chunks are
/// noted in memory (no index write per read) and written with the next fetch; when the cache
/// is over its limit, least recently used chunks are evicted down to 90% of it.
final class CacheKeeper: Sendable {
    private struct State {
        var uses: [ObjectID: Int64] = [:]
        var evicting = false
    }

    let repository: Repository
    let limit: Int64
    private let state = Mutex(State())
    private let logger = Logger(label: "ark.cache")
    static let maxPendingUses = 65_536

    init(repository: Repository, limit: Int64) {
        self.repository = repository
        self.limit = limit
    }

    func used(_ id: ObjectID) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        state.withLock { s in if s.uses.count < Self.maxPendingUses || s.uses[id] != nil { s.uses[id] = now } }
    }

    /// After a chunk was fetched and stored: record uses, and evict if over the limit (one
    /// eviction at a time; others skip it).
    func fetched() {
        let (uses, run) = state.withLock { s -> ([ObjectID: Int64], Bool) in
            defer { s.uses.removeAll(keepingCapacity: true) }
            let run = !s.evicting
            if run { s.evicting = true }
            return (s.uses, run)
        }
        guard run else { return }
        defer { state.withLock { $0.evicting = false } }
        do {
            try repository.index.touchCached(uses)
            guard try repository.index.cacheUsage().bytes > limit else { return }
            let e = try repository.evictCache(downTo: limit / 10 * 9)
            logger.info("cache over \(limit) bytes: evicted \(e.chunks) least recently used chunks (\(e.bytes) bytes)")
        } catch {
            logger.warning("cache eviction failed: \(error)")
        }
    }
}
