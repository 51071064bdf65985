import ArkCore

/// What the sync engine needs from `ark.toml`: the repos this node syncs, who may read and
/// announce each, and how eagerly chunks are replicated.
public struct SyncConfiguration: Sendable {
    public enum FetchPolicy: String, Sendable {
        /// Replicate every chunk in the background after the metadata.
        case full
        /// Metadata eagerly; chunks only on demand (`ChunkFetcher`).
        case lazy
    }

    public struct Repo: Sendable {
        public var id: String
        /// Node ids allowed to read and announce this repo (this node may be listed or not).
        public var members: [ObjectID]
        public var fetch: FetchPolicy

        public init(id: String, members: [ObjectID], fetch: FetchPolicy = .full) {
            self.id = id; self.members = members; self.fetch = fetch
        }
    }

    public var repos: [Repo]
    public var reconciliation = RBSRConfig()
    /// Deadline of one metadata request to a peer, in seconds.
    public var requestDeadline: Double = 30
    /// Overall deadline of one on-demand chunk fetch, in seconds.
    public var chunkDeadline: Double = 10
    /// Deadline of one peer's attempt within a chunk fetch, in seconds.
    public var chunkPeerDeadline: Double = 3
    /// Deadline of one metadata request to a peer while another connected member could serve
    /// it instead, in seconds; a peer that misses it is asked again last, with `requestDeadline`.
    public var stallDeadline: Double = 5
    /// Pulls of one writer's announced heads that run at once; the rest wait their turn, so a
    /// member flooding announcements delays only its own heads.
    public var pullsPerWriter = 2
    /// Head names one writer may have per repo (`[sync] max_heads_per_writer`); announcements
    /// of further names are refused.
    public var maxHeadsPerWriter = 1024

    public init(repos: [Repo], enumerateThreshold: Int = 8) {
        self.repos = repos
        reconciliation.enumerateThreshold = enumerateThreshold
    }

    public func repo(_ id: String) -> Repo? { repos.first { $0.id == id } }

    /// Repos that list `peer` as a member.
    public func repos(sharedWith peer: ObjectID) -> [Repo] { repos.filter { $0.members.contains(peer) } }

    public func isMember(_ peer: ObjectID, of repo: String) -> Bool { self.repo(repo)?.members.contains(peer) ?? false }
}
