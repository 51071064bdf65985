import ArkCore
import Foundation

/// Fetches one chunk on demand (for a mount read): from the preferred peer first (the one that
/// announced the commit first, `SyncEngine.firstAnnouncer(of:)`), then every other connected
/// peer, each attempt bounded by a per-peer deadline and all of them by an overall deadline.
/// A peer that is slow, fails or sends wrong bytes is skipped for this request. The verified
/// chunk is stored (durably, then indexed as present) before it is returned.
package final class ChunkFetcher: Sendable {
    package let engine: SyncEngine
    /// Overall deadline in seconds (the mount answers ETIMEDOUT when it passes).
    package let deadline: Double
    package let peerDeadline: Double

    package init(engine: SyncEngine, deadline: Double? = nil, peerDeadline: Double? = nil) {
        self.engine = engine
        self.deadline = deadline ?? engine.configuration.chunkDeadline
        self.peerDeadline = peerDeadline ?? engine.configuration.chunkPeerDeadline
    }

    /// The verified bytes of chunk `id`. `preferring` is the node id of the peer to ask first.
    /// With `asCache` (a mount's read) the chunk is stored as an evictable cache entry and
    /// background replication waits while the fetch runs; otherwise (`ark prefetch`) it is kept.
    /// Throws `SyncError.timeout` when the deadline passed, `SyncError.remote` when no peer had it.
    package func fetch(_ id: ObjectID, preferring: ObjectID?, asCache: Bool = false) async throws -> [UInt8] {
        let repository = engine.repository
        let stored = try await engine.blocking.run { () -> [UInt8]? in
            guard try repository.index.object(id)?.isPresent == true else { return nil }
            if !asCache { try repository.index.keepChunks([id]) }
            return try repository.readChunk(id)
        }
        if let stored { return stored }
        if asCache { engine.beginOnDemand() }
        defer { if asCache { engine.endOnDemand() } }
        let start = Date()
        var peers = engine.state.withLock { s in s.connections.sorted { $0.key < $1.key }.map(\.value) }
        if let preferring, let i = peers.firstIndex(where: { $0.remote == preferring }) { peers.insert(peers.remove(at: i), at: 0) }
        for peer in peers {
            let remaining = deadline - Date().timeIntervalSince(start)
            guard remaining > 0 else { break }
            let got = try await engine.fetchObjects([(id, .chunk)], from: [peer], deadline: min(peerDeadline, remaining), require: false)
            guard let bytes = got[id] else { continue }
            try await engine.blocking.run {
                let session = try WriteSession(repository)
                if asCache {
                    _ = try session.putCachedChunk(id, bytes)
                } else {
                    _ = try session.putVerified(id, .chunk, bytes)
                    try session.checkpoint()
                }
            }
            return bytes
        }
        if Date().timeIntervalSince(start) >= deadline { throw SyncError.timeout }
        throw SyncError.remote("no connected peer served chunk \(id.short)")
    }
}
