import Foundation

/// The live state a running daemon serves on `<store>/daemon.sock` (see `StatusSocket`), as
/// `ark status` reads it. Times are seconds since 1970. Internal to ark: the documented
/// format is `ark status --json`, which merges this with the index.
struct DaemonStatus: Codable, Sendable {
    struct Peer: Codable, Sendable {
        var node: String
        var connected: Bool
        /// Remote address of the current (or last) connection.
        var address: String?
        var connectedSince: Double?
        var lastSeen: Double?
        var bytesIn: UInt64
        var bytesOut: UInt64
        var connections: Int
        /// The peer's reason for refusing this node on its last attempt; nil unless refused.
        var refusal: String?
    }

    struct Replication: Codable, Sendable {
        var repo: String
        var chunksQueued: Int
        var chunksDone: Int
        var chunksFailed: Int
        var bytesQueued: UInt64
        var bytesDone: UInt64
        var bytesFailed: UInt64
        var running: Int
    }

    var pid: Int32
    var node: String
    /// The ark subcommand hosting the daemon: run, mount or prefetch.
    var command: String
    var started: Double
    var listen: String
    var peers: [Peer]
    var replication: [Replication]
}
