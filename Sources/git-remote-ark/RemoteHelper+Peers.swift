import ArkCore
import ArkSync
import Dispatch
import Foundation
import Synchronization

/// A lazy repo holds commits, trees and manifests but only the chunks read so far: before the
/// helper computes git ids or writes a pack it fetches the chunks it lacks from the repo's
/// remotes (their configured `addrs`), as `ark prefetch` does, with progress on stderr.
extension RemoteHelper {
    /// Fetches the chunks this node lacks of the files in `commits` and their history (not
    /// past commits whose git id is known: computing it again needs no content).
    func fillForIDs(of commits: [ObjectID], ids: GitObjectIDs) throws {
        var absent = try GitAbsentChunks(repo: try repo())
        try absent.walk(commits, stop: { try ids.known($0) != nil }, skip: { try ids.known($0) != nil })
        if !absent.chunks.isEmpty { try fetchFromPeers(absent.chunks) }
    }

    /// Fetches `chunks` (id, length) from the repo's remotes and keeps them; throws one line
    /// when any could not be fetched.
    func fetchFromPeers(_ chunks: [(id: ObjectID, length: UInt64)]) throws {
        let repo = try repo()
        let total = chunks.reduce(UInt64(0)) { $0 + $1.length }
        let remotes = location.remotes.filter { !$0.addresses.isEmpty }
        let what = "\(chunks.count) chunks (\(total) bytes) of repo '\(location.repo)' are not stored here"
        guard !remotes.isEmpty else {
            throw HelperError("\(what) and it has no remote with addrs to fetch them from (a lazy repo? run `ark prefetch` first)")
        }
        let config = SyncConfiguration(repos: [.init(id: location.repo, members: remotes.map(\.node), fetch: .lazy)])
        let session = PeerChunkSession(
            repository: repo, configuration: config,
            remotes: remotes.map { PeerChunkSession.Remote(node: $0.node, addresses: $0.addresses) })
        let started = Date()
        let showProgress = progress, verbose = verbosity > 0
        if verbose { Self.stderr("ark: fetching \(chunks.count) chunks (\(Self.bytes(total))) from peers\n") }
        let state = Tally()
        let done = DispatchSemaphore(value: 0)
        let work = chunks.map { ($0.id, $0.length) }
        Task {
            await RemoteHelper.run(session, work, tally: state, showProgress: showProgress, started: started, total: total)
            done.signal()
        }
        done.wait()
        let (fetched, failed, bytes, _) = state.counts.withLock { $0 }
        let connected = state.connected.load(ordering: .relaxed)
        if showProgress { Self.stderr("\n") }
        guard connected > 0 else {
            throw HelperError("\(what) and no remote of it could be reached (\(remotes.count) tried)")
        }
        guard failed == 0, fetched == chunks.count else {
            throw HelperError("\(what) and \(chunks.count - fetched) of them could not be fetched from \(connected) connected peers")
        }
        let seconds = Date().timeIntervalSince(started)
        if verbose {
            Self.stderr("ark: fetched \(fetched) chunks (\(Self.bytes(bytes))) from peers in \(String(format: "%.1f", seconds)) s\n")
        }
    }

    private static func run(
        _ session: PeerChunkSession, _ work: [(ObjectID, UInt64)], tally: Tally, showProgress: Bool, started: Date, total: UInt64
    ) async {
        let connected = await session.connect()
        tally.connected.store(connected, ordering: .relaxed)
        if connected > 0 {
            await session.fetch(work) { ok, length in
                let line = tally.counts.withLock { s -> String? in
                    if ok { s.fetched += 1; s.bytes += length } else { s.failed += 1 }
                    let now = Date()
                    guard showProgress, now.timeIntervalSince(s.lastShown) >= 0.2 || s.fetched + s.failed == work.count else { return nil }
                    s.lastShown = now
                    let rate = Double(s.bytes) / max(now.timeIntervalSince(started), 0.001)
                    return "ark: fetching chunks from peers: \(s.fetched + s.failed)/\(work.count), "
                        + "\(bytes(s.bytes)) of \(bytes(total)), \(bytes(UInt64(rate)))/s\r"
                }
                if let line { stderr(line) }
            }
        }
        await session.shutdown()
    }

    /// What the fetching task reports back to the waiting thread.
    private final class Tally: Sendable {
        let counts = Mutex((fetched: 0, failed: 0, bytes: UInt64(0), lastShown: Date.distantPast))
        let connected = Atomic<Int>(0)
    }

    static func stderr(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    static func bytes(_ n: UInt64) -> String {
        n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / 1_048_576) : n >= 1 << 10 ? "\(n >> 10) KiB" : "\(n) B"
    }
}
