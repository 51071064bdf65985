import ArkCore

/// What the sync engine needs from `ark.toml`: the repos this node syncs, who may read and
/// announce each, and how eagerly chunks are replicated.
package struct SyncConfiguration: Sendable {
    package enum FetchPolicy: String, Sendable {
        /// Replicate every chunk in the background after the metadata.
        case full
        /// Metadata eagerly; chunks only on demand (`ChunkFetcher`).
        case lazy
    }

    package struct Repo: Sendable {
        package var id: String
        /// Node ids allowed to read and announce this repo (this node may be listed or not).
        package var members: [ObjectID]
        package var fetch: FetchPolicy

        package init(id: String, members: [ObjectID], fetch: FetchPolicy = .full) {
            self.id = id; self.members = members; self.fetch = fetch
        }
    }

    package var repos: [Repo]
    package var reconciliation = RBSRConfig()
    /// Deadline of one metadata request to a peer, in seconds.
    package var requestDeadline: Double = 30
    /// Overall deadline of one on-demand chunk fetch, in seconds.
    package var chunkDeadline: Double = 10
    /// Deadline of one peer's attempt within a chunk fetch, in seconds.
    package var chunkPeerDeadline: Double = 3
    /// Deadline of one metadata request to a peer while another connected member could serve
    /// it instead, in seconds; a peer that misses it is asked again last, with `requestDeadline`.
    package var stallDeadline: Double = 5
    /// Pulls of one writer's announced heads that run at once; the rest wait their turn, so a
    /// member flooding announcements delays only its own heads.
    package var pullsPerWriter = 2
    /// Head names one writer may have per repo (`[sync] max_heads_per_writer`); announcements
    /// of further names are refused.
    package var maxHeadsPerWriter = 1024
    /// Retries of an announced head's pull that failed transiently (a timeout, a closed
    /// connection), while the peer that delivered it stays connected: after `pullRetryDelay`
    /// seconds, doubling up to `pullRetryMaxDelay`, each ±20% at random (`SyncEngine+PullRetry`).
    package var pullRetries = 8
    /// Bytes of commits one pull may hold (they are published in one transaction, parents
    /// first, so the pull keeps them until then): with `SyncEngine.maxCommitsPerPull` this
    /// bounds a pull's memory when a peer sends commits near the object limit (1 MiB messages).
    /// 512 MiB is two million commits of ark's usual 250 bytes.
    package var maxCommitBytesPerPull = 512 << 20
    package var pullRetryDelay: Double = 1
    package var pullRetryMaxDelay: Double = 60

    package init(repos: [Repo], enumerateThreshold: Int = 8) {
        self.repos = repos
        reconciliation.enumerateThreshold = enumerateThreshold
    }

    package func repo(_ id: String) -> Repo? { repos.first { $0.id == id } }

    /// Repos that list `peer` as a member.
    package func repos(sharedWith peer: ObjectID) -> [Repo] { repos.filter { $0.members.contains(peer) } }

    package func isMember(_ peer: ObjectID, of repo: String) -> Bool { self.repo(repo)?.members.contains(peer) ?? false }
}
