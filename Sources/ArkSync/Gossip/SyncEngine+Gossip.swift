import ArkCore
import Foundation

/// Signed head announcements: accepting (signature, membership, sequence), recording
/// equivocation, pulling, forwarding once, and announcing this node's own heads.
extension SyncEngine {
    enum Verdict: Equatable {
        case accept
        /// Already at this sequence with this head; `pull` when the head row is not there yet.
        case known(pull: Bool)
        case drop(String)
    }

    /// Marks `a` as seen; false if it already was (duplicate suppression by hash).
    func markSeen(_ a: HeadAnnouncement) -> Bool {
        let h = a.hash
        return state.withLock { s in
            guard s.seenHashes.insert(h).inserted else { return false }
            s.seenOrder.append(h)
            if s.seenOrder.count > Self.maxSeenHashes { s.seenHashes.remove(s.seenOrder.removeFirst()) }
            return true
        }
    }

    /// Checks `a` and, when it is new, records it as the last seen of its (repo, writer, name).
    func judge(_ a: HeadAnnouncement, deliveredBy peer: ObjectID) throws -> Verdict {
        guard configuration.isMember(peer, of: a.repo) else { return .drop("peer \(peer.short) is not a member of repo \(a.repo)") }
        guard a.writer != nodeID else { return .drop("own announcement") }
        guard configuration.isMember(a.writer, of: a.repo) else { return .drop("writer \(a.writer.short) is not a member of repo \(a.repo)") }
        guard a.isSignatureValid else { return .drop("bad signature from writer \(a.writer.short)") }
        let stored = StoredAnnouncement(repo: a.repo, writer: a.writer, name: a.name, seq: a.seq, head: a.head, bytes: a.encoded)
        let now = Int64(Date().timeIntervalSince1970)
        if let last = try repository.index.lastSeen(repo: a.repo, writer: a.writer, name: a.name) {
            if a.seq < last.seq { return .drop("seq \(a.seq) below last seen \(last.seq) (replay or rollback)") }
            if a.seq == last.seq {
                if last.head == a.head {
                    let ref = HeadRef(repo: a.repo, owner: a.writer, name: a.name)
                    return .known(pull: try repository.index.head(ref) != a.head)
                }
                if try repository.index.recordEquivocation(first: last, second: stored, time: now) {
                    logger.error("writer \(a.writer.short) equivocated on \(a.repo)/\(a.name) seq \(a.seq): \(last.head?.short ?? "-") vs \(a.head.short); both kept")
                }
                return .drop("equivocation")
            }
        }
        return try repository.index.recordSeen(stored, time: now) ? .accept : .drop("raced with a newer announcement")
    }

    /// A gossiped announcement: accept, pull its history, then forward it to the other members.
    func receive(_ a: HeadAnnouncement, from connection: any PeerConnection) async throws {
        guard markSeen(a) else { return }
        let verdict = try judge(a, deliveredBy: connection.remote)
        switch verdict {
        case .drop(let why):
            logger.info("dropped announcement of \(a.repo)/\(a.name)@\(a.writer.short) seq \(a.seq): \(why)")
            return
        case .known(let pull):
            if pull { try await adopt(a, from: connection.remote) }
        case .accept:
            state.withLock { s in if s.firstAnnouncer[a.head] == nil { s.firstAnnouncer[a.head] = connection.remote } }
            do { try await adopt(a, from: connection.remote) } catch {
                logger.warning("pulling \(a.repo)/\(a.name)@\(a.writer.short) failed: \(error)")
            }
            // Forwarded after the pull, so the next hop can fetch the history from us.
            await forward(a, except: [connection.remote, a.writer])
        }
    }

    func forward(_ a: HeadAnnouncement, except: Set<ObjectID>) async {
        let body = SyncNotification.announce(a).encoded
        for peer in peers(of: a.repo, except: except) {
            do { try await peer.notify(body) } catch { logger.info("forwarding to \(peer.remote.short) failed: \(error)") }
        }
    }

    /// Pulls the closure of `a.head` and points the remote head (repo, writer, name) at it.
    func adopt(_ a: HeadAnnouncement, from peer: ObjectID) async throws {
        let ref = HeadRef(repo: a.repo, owner: a.writer, name: a.name)
        try await pull(repo: a.repo, commits: [a.head], head: ref, preferring: peer)
    }

    /// Signed announcements received from a peer (get-heads): each is judged like gossip, but
    /// not forwarded (every member asks its own peers on connect).
    func apply(_ heads: [HeadAnnouncement], repo: String, from peer: ObjectID) async throws {
        for a in heads where a.repo == repo {
            switch try judge(a, deliveredBy: peer) {
            case .accept, .known(pull: true):
                _ = markSeen(a)
                state.withLock { s in if s.firstAnnouncer[a.head] == nil { s.firstAnnouncer[a.head] = peer } }
                try await adopt(a, from: peer)
            case .known(pull: false): break
            case .drop(let why):
                if why != "own announcement" { logger.info("ignored head \(a.repo)/\(a.name)@\(a.writer.short) from \(peer.short): \(why)") }
            }
        }
    }

    /// Signs and sends an announcement for every head of this node (in configured repos) that
    /// moved since it was last announced. Call it whenever the index's heads may have changed;
    /// returns the announcements sent.
    @discardableResult
    public func announceLocalHeads() async throws -> [HeadAnnouncement] {
        var sent: [HeadAnnouncement] = []
        for repo in configuration.repos {
            for head in try repository.index.heads(repo: repo.id) where head.ref.owner == nodeID {
                let own = try repository.index.ownAnnouncement(repo: repo.id, name: head.ref.name)
                if own?.head == head.commit { continue }
                let generation = try repository.index.commit(head.commit).map { UInt64($0.generation) } ?? 0
                let a = HeadAnnouncement.signed(by: repository.identity, repo: repo.id, name: head.ref.name, seq: (own?.seq ?? 0) + 1,
                                                generation: generation, head: head.commit, previous: own?.head,
                                                time: UInt64(Date().timeIntervalSince1970 * 1000))
                try repository.index.recordOwn(StoredAnnouncement(repo: a.repo, writer: a.writer, name: a.name, seq: a.seq, head: a.head, bytes: a.encoded))
                _ = markSeen(a)
                await forward(a, except: [])
                sent.append(a)
            }
        }
        return sent
    }

    /// On connect: reconcile the commit sets of `repo`, pull what the peer has and we lack,
    /// then adopt the peer's signed heads.
    func catchUp(repo: String, with connection: any PeerConnection) async throws {
        var session = try RBSRSession(store: commitSet(repo: repo), config: configuration.reconciliation)
        var out = try session.initiate()
        var first = true
        while true {
            let reply = try await connection.request(SyncRequest.reconcile(repo: repo, start: first, message: out).encoded,
                                                     deadline: configuration.requestDeadline)
            first = false
            guard case .reconcile(let next) = try SyncResponse(decoding: reply) else {
                throw SyncError.protocolViolation("reconcile answered with another response type")
            }
            guard let next, let mine = try session.receive(next) else { break }
            out = mine
        }
        let need = session.need
        logger.debug("reconciled \(repo) with \(connection.remote.short): need \(need.count), \(session.messagesSent + session.messagesReceived) messages")
        if !need.isEmpty {
            try await pull(repo: repo, commits: Array(need), head: nil, preferring: connection.remote)
        }
        let heads = try await connection.request(SyncRequest.getHeads(repo: repo).encoded, deadline: configuration.requestDeadline)
        guard case .heads(let list) = try SyncResponse(decoding: heads) else {
            throw SyncError.protocolViolation("get-heads answered with another response type")
        }
        try await apply(list, repo: repo, from: connection.remote)
    }
}
