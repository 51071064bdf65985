import Synchronization

/// Background replication of one `full` repo since the daemon started: chunks (and their
/// bytes) queued after metadata pulls, stored since, and given up on (no peer had them after
/// every retry; they stay known-but-absent until the next pull queues them again).
public struct ReplicationProgress: Sendable, Equatable {
    public var chunksQueued = 0
    public var bytesQueued: UInt64 = 0
    public var chunksDone = 0
    public var bytesDone: UInt64 = 0
    public var chunksFailed = 0
    public var bytesFailed: UInt64 = 0
    /// Replication tasks running now.
    public var running = 0

    public var chunksPending: Int { max(0, chunksQueued - chunksDone - chunksFailed) }
    public var bytesPending: UInt64 { bytesQueued > bytesDone + bytesFailed ? bytesQueued - bytesDone - bytesFailed : 0 }
}

/// The engine's replication figures per repo, updated by `replicate` as it stores chunks.
final class ReplicationLedger: Sendable {
    private let repos = Mutex<[String: ReplicationProgress]>([:])

    func update(_ repo: String, _ body: (inout ReplicationProgress) -> Void) {
        repos.withLock { body(&$0[repo, default: ReplicationProgress()]) }
    }

    var snapshot: [String: ReplicationProgress] { repos.withLock { $0 } }
}

extension SyncEngine {
    /// Background replication per repo id (only repos that replicated something appear).
    public var replicationProgress: [String: ReplicationProgress] { replication.snapshot }
}
