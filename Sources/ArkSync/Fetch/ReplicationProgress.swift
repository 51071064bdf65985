import Synchronization

/// Background replication of one `full` repo since the daemon started: chunks (and their
/// bytes) queued after metadata pulls, stored since, and given up on (no peer had them after
/// every retry; they stay known-but-absent until the next pull queues them again).
package struct ReplicationProgress: Sendable, Equatable {
    package var chunksQueued = 0
    package var bytesQueued: UInt64 = 0
    package var chunksDone = 0
    package var bytesDone: UInt64 = 0
    package var chunksFailed = 0
    package var bytesFailed: UInt64 = 0
    /// Replication tasks running now.
    package var running = 0

    package var chunksPending: Int { max(0, chunksQueued - chunksDone - chunksFailed) }
    package var bytesPending: UInt64 { bytesQueued > bytesDone + bytesFailed ? bytesQueued - bytesDone - bytesFailed : 0 }
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
    package var replicationProgress: [String: ReplicationProgress] { replication.snapshot }
}
