import ArkCore
import Foundation

/// What happens when a connection opens: for each shared repo, learn from the peer's signed
/// heads what it last saw from us, announce above that, then reconcile commit sets, pull what
/// the peer has and we lack, and adopt the peer's heads.
extension SyncEngine {
    func catchUp(repos: [String], with connection: any PeerConnection) async throws {
        var heads: [String: [HeadAnnouncement]] = [:]
        var failed: [String] = []
        for repo in repos {
            do {
                heads[repo] = try await learn(repo: repo, from: connection)
            } catch {
                logger.warning("get-heads of \(repo) from \(connection.remote.short) failed: \(error)")
                if case SyncError.timeout = error { failed.append(repo) }
            }
        }
        if !heads.isEmpty {
            try await announceLocalHeads()
            for (repo, list) in heads { try await sendOwn(repo: repo, to: connection, peerSaw: list) }
        }
        if !failed.isEmpty {
            // Until a peer told us what it last saw from us, it gets none of our announcements:
            // keep asking (a loaded peer may just have been slow) while the connection lasts.
            spawn("learning from \(connection.remote.short)") { [self, failed] in
                try await self.keepLearning(repos: failed, from: connection)
            }
        }
        for repo in repos {
            do {
                try await reconcile(repo: repo, with: connection)
                if let list = heads[repo] { try await apply(list, repo: repo, from: connection.remote) }
            } catch {
                logger.warning("catching up on \(repo) with \(connection.remote.short) failed: \(error)")
            }
        }
    }

    /// Asks the peer for its signed heads of `repo`, learns our own last number from them and
    /// marks the connection learned for `repo`; returns the heads.
    func learn(repo: String, from connection: any PeerConnection) async throws -> [HeadAnnouncement] {
        let list = try await getHeads(repo: repo, from: connection)
        for a in list where a.repo == repo && a.writer == nodeID && a.isSignatureValid { try learnOwn(a, from: connection.remote) }
        markLearned(connection, repo: repo)
        return list
    }

    /// Retries `learn` for `repos` whose get-heads timed out (a loaded peer), with a backoff of
    /// 1 s doubling to 32 s, six times at most, while the connection lasts; then announces to
    /// the peer what it has not seen. A peer that answered with an error is not asked again on
    /// this connection.
    func keepLearning(repos: [String], from connection: any PeerConnection) async throws {
        var pending = repos, backoff: Double = 1
        for _ in 0..<6 where !pending.isEmpty {
            try await Task.sleep(nanoseconds: UInt64(backoff * 1e9))
            guard state.withLock({ $0.open.contains(ObjectIdentifier(connection)) }) else { return }
            var learned: [String: [HeadAnnouncement]] = [:]
            var given: Set<String> = []
            for repo in pending {
                do { learned[repo] = try await learn(repo: repo, from: connection) } catch SyncError.timeout {
                    continue
                } catch {
                    given.insert(repo)
                }
            }
            pending.removeAll { learned[$0] != nil || given.contains($0) }
            if !learned.isEmpty {
                try await announceLocalHeads()
                for (repo, list) in learned {
                    try await sendOwn(repo: repo, to: connection, peerSaw: list)
                    try await apply(list, repo: repo, from: connection.remote)
                }
            }
            backoff = min(backoff * 2, 60)
        }
    }

    func getHeads(repo: String, from connection: any PeerConnection) async throws -> [HeadAnnouncement] {
        let reply = try await connection.request(SyncRequest.getHeads(repo: repo).encoded, deadline: configuration.requestDeadline)
        guard case .heads(let list) = try SyncResponse(decoding: reply) else {
            throw SyncError.protocolViolation("get-heads answered with another response type")
        }
        return list
    }

    /// Reconciles the commit sets of `repo` and pulls the commits the peer has and we lack.
    func reconcile(repo: String, with connection: any PeerConnection) async throws {
        var session = try RBSRSession(store: commitSet(repo: repo), config: configuration.reconciliation)
        var out = try session.initiate()
        var first = true
        while true {
            let reply = try await connection.request(
                SyncRequest.reconcile(repo: repo, start: first, message: out).encoded,
                deadline: configuration.requestDeadline)
            first = false
            guard case .reconcile(let next) = try SyncResponse(decoding: reply) else {
                throw SyncError.protocolViolation("reconcile answered with another response type")
            }
            guard let next, let mine = try session.receive(next) else { break }
            out = mine
        }
        let need = session.need
        logger.debug(
            "reconciled \(repo) with \(connection.remote.short): need \(need.count), \(session.messagesSent + session.messagesReceived) messages"
        )
        if !need.isEmpty {
            try await pull(repo: repo, commits: Array(need), head: nil, preferring: connection.remote)
        }
    }
}
