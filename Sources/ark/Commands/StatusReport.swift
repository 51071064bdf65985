import ArkCore
import Foundation

/// What `ark status --json` prints (documented in README.md, "ark status"). Every key is
/// always present; what is unknown is `null`.
struct StatusReport: Encodable {
    struct Daemon: Encodable {
        var running: Bool
        var pid: Nullable<Int32>
        var command: Nullable<String>
        var listen: Nullable<String>
        var started: Nullable<String>
        /// Why the daemon's state could not be read although its socket exists.
        var error: Nullable<String>
    }

    struct Peer: Encodable {
        var name: Nullable<String>
        var node: String
        /// Addresses configured in ark.toml.
        var addrs: [String]
        /// The remote address of the current or last connection (dialled, accepted or discovered).
        var address: Nullable<String>
        var connected: Bool
        /// "connected", "offline", or "refused" (the peer rejects this node: this node is not in
        /// its remotes); null without a daemon.
        var state: Nullable<String>
        /// The peer's reason when `state` is "refused".
        var refusal: Nullable<String>
        var connectedSince: Nullable<String>
        var lastSeen: Nullable<String>
        var bytesIn: UInt64
        var bytesOut: UInt64
    }

    struct Head: Encodable {
        /// As a revision: `proj`, `proj/main`, `proj@laptop`.
        var ref: String
        /// The head name within the repo; "" is the main head.
        var name: String
        var owner: String
        var ownerName: Nullable<String>
        var own: Bool
        var commit: String
        var generation: Int64
        /// The commit's committer time.
        var time: String
        /// When the head last moved in this store.
        var updated: String
        /// Null for heads past the walk bound (`StatusCommand.maxTreesWalked`).
        var chunksTotal: Nullable<Int>
        var chunksPresent: Nullable<Int>
        var bytesTotal: Nullable<UInt64>
        var bytesPresent: Nullable<UInt64>
    }

    struct Replication: Encodable {
        var chunksQueued: Int
        var chunksDone: Int
        var chunksFailed: Int
        var chunksPending: Int
        var bytesQueued: UInt64
        var bytesDone: UInt64
        var bytesFailed: UInt64
        var bytesPending: UInt64
        var running: Bool
    }

    struct Repo: Encodable {
        var id: String
        /// "full" or "lazy"; null for a repo that is not in ark.toml (e.g. imported only).
        var fetch: Nullable<String>
        var heads: [Head]
        /// Background replication since the daemon started; null without a daemon.
        var replication: Nullable<Replication>
    }

    /// Chunks fetched on demand by mounts, kept within `[store] cache_limit`.
    struct Cache: Encodable {
        var chunks: Int
        var bytes: Int64
        var limit: Int64
    }

    var node: String
    var store: String
    var cache: Cache
    var daemon: Daemon
    var peers: [Peer]
    var repos: [Repo]
}

/// An optional that encodes as JSON `null` instead of leaving its key out.
struct Nullable<T: Encodable>: Encodable {
    var value: T?
    init(_ value: T?) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}

extension Nullable: ExpressibleByNilLiteral {
    init(nilLiteral: ()) { value = nil }
}
