import ArkCore
import ArkFS

/// The settings of `ark.toml` (see ark.toml.example for every key).
struct ArkConfig: Sendable {
    struct Remote: Sendable, Equatable {
        var name: String
        var nodeID: ObjectID
        /// Where to dial it ("host:port"); empty: found by LAN discovery.
        var addrs: [String] = []
    }

    enum FetchPolicy: String, Sendable {
        /// Replicate every chunk in the background (on-demand reads first).
        case full
        /// Metadata eagerly; chunks only when read.
        case lazy
    }

    struct Repo: Sendable {
        var id: String
        var remotes: [Remote]
        var fetch: FetchPolicy = .full
        /// `source`: absolute path of a git or jj repository whose new commits the daemon and
        /// mounts import into this repo as they are made.
        var source: String?
    }

    /// The file it was read from; nil when the defaults are in use.
    var file: String?
    /// Absolute store directory.
    var storePath: String
    /// `[store] cache_limit`: bytes of chunks fetched on demand (for mounts of lazy repos) kept
    /// on disk; least recently used ones beyond it are evicted.
    var cacheLimit: Int64 = 10 << 30
    /// `[store.s3]`: pack files live in this bucket (see ArkConfig+S3.swift).
    var s3: S3Settings?
    var repos: [Repo] = []
    var enumerateThreshold = 8
    /// `[sync] max_heads_per_writer`: head names one peer may have per repo here.
    var maxHeadsPerWriter = 1024
    /// `[mount] cache_size`: bytes of verified chunks a mount keeps in memory; nil when not
    /// set (`mountCacheSize(bucket:)` picks the default).
    var mountCacheSizeSetting: Int?

    /// The mount's chunk cache: as set, else ArkFS's `ChunkCache.defaultCapacity` (a streaming
    /// mount within 64 MiB of RSS), or with packs in a bucket 64 MiB: its read-ahead window is a
    /// quarter of the cache, and ranged reads from a bucket need a wider one (a cold read
    /// through the mount from the test server, 2026-12-07 15:00 UTC: 26-34 MB/s with 8 MiB,
    /// 69-105 MB/s with 64 MiB).
    func mountCacheSize(bucket: Bool) -> Int { mountCacheSizeSetting ?? (bucket ? 64 << 20 : Filesystem.Options().cacheSize) }
    /// `[net] listen`: where the daemon accepts peers.
    var listenHost = "0.0.0.0"
    var listenPort = 7465
    /// `[net] discovery`: find remotes on the LAN by signed UDP multicast (and answer such probes).
    var discovery = true

    static let defaultFile = "ark.toml"

    /// Repos that name a `source`, with its path.
    var sources: [(repo: String, path: String)] { repos.compactMap { r in r.source.map { (r.id, $0) } } }

    /// Remote names (across repos) to node ids, for revisions like `repo@peer-a`.
    var peerNames: [String: ObjectID] {
        var out: [String: ObjectID] = [:]
        for r in repos { for p in r.remotes { out[p.name] = p.nodeID } }
        return out
    }

    func peerName(of node: ObjectID) -> String? {
        for r in repos { if let p = r.remotes.first(where: { $0.nodeID == node }) { return p.name } }
        return nil
    }

    /// Repo ids are path- and revision-safe: letters, digits, '.', '_', '-', not starting with '.' or '-'.
    static func validRepoID(_ id: String) -> Bool {
        guard let first = id.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-"), id.utf8.count <= 128 else { return false }
        return id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
    }
}
