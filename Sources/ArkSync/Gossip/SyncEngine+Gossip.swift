import ArkCore
import Foundation

/// Signed head announcements of other writers: accepting (signature, membership, sequence,
/// head limit), recording equivocation, pulling, and forwarding once.
extension SyncEngine {
    enum Verdict: Equatable {
        case accept
        /// Already at this sequence with this head; `pull` when the head row is not there yet.
        case known(pull: Bool)
        case drop(String)
        /// Over the writer's head limit: counted and logged at most once a minute, not per announcement.
        case refused
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

    /// Forgets that `a` was seen, after its pull failed transiently: the same announcement
    /// delivered again (by another peer, or on reconnect) is pulled again instead of dropped as
    /// a duplicate. Not after bad bytes: a peer re-sending that announcement stays a duplicate.
    func forgetSeen(_ a: HeadAnnouncement) {
        let h = a.hash
        state.withLock { s in _ = s.seenHashes.remove(h) }
    }

    /// Checks `a` and, when it is new, records it as the last seen of its (repo, writer, name).
    /// One of this node's own announcements, reported back, raises its own sequence number.
    func judge(_ a: HeadAnnouncement, deliveredBy peer: ObjectID) throws -> Verdict {
        guard configuration.isMember(peer, of: a.repo) else { return .drop("peer \(peer.short) is not a member of repo \(a.repo)") }
        guard a.writer != nodeID else {
            if a.isSignatureValid { try learnOwn(a, from: peer) }
            return .drop("own announcement")
        }
        guard configuration.isMember(a.writer, of: a.repo) else {
            return .drop("writer \(a.writer.short) is not a member of repo \(a.repo)")
        }
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
                    logger.error(
                        "writer \(a.writer.short) equivocated on \(a.repo)/\(a.name) seq \(a.seq): \(last.head?.short ?? "-") vs \(a.head.short); both kept"
                    )
                }
                return .drop("equivocation")
            }
        }
        switch try repository.index.recordSeen(stored, time: now, maxNamesPerWriter: configuration.maxHeadsPerWriter) {
        case .recorded: return .accept
        case .stale: return .drop("raced with a newer announcement")
        case .overLimit:
            refusedOverHeadLimit(a)
            return .refused
        }
    }

    /// Counts a refused announcement of a new head name; logs one line per writer and minute.
    func refusedOverHeadLimit(_ a: HeadAnnouncement) {
        let key = "\(a.repo)/\(a.writer.hex)"
        let report = state.withLock { s -> Int? in
            s.headLimitRefused[key, default: 0] += 1
            if let last = s.headLimitLogged[key], last.duration(to: .now) < .seconds(60) { return nil }
            s.headLimitLogged[key] = .now
            defer { s.headLimitRefused[key] = 0 }
            return s.headLimitRefused[key]
        }
        if let report {
            logger.warning(
                "refusing new heads of writer \(a.writer.short) in repo \(a.repo): it has \(configuration.maxHeadsPerWriter) (max_heads_per_writer); \(report) announcement(s) refused since the last report"
            )
        }
    }

    /// A gossiped announcement: accept, pull its history, then forward it to the other members.
    /// The pull waits its turn among those of the same writer (`pullLanes`), so a member
    /// flooding announcements delays only its own heads, even when it relays others' first.
    func receive(_ a: HeadAnnouncement, from connection: any PeerConnection) async throws {
        let peer = connection.remote
        guard withinBudget(peer) else { return }
        guard markSeen(a) else { return }
        switch try await blocking.run({ try self.judge(a, deliveredBy: peer) }) {
        case .drop(let why):
            if why != "own announcement" {
                logger.info("dropped announcement of \(a.repo)/\(a.name)@\(a.writer.short) seq \(a.seq): \(why)")
            }
        case .refused: break
        case .known(let pull):
            guard pull else { break }
            await pullAnnounced(a, from: peer, forwarding: false)
        case .accept:
            await pullAnnounced(a, from: peer, forwarding: true)
        }
    }

    /// Pulls an announced head in its writer's lane. One pull waits per head: a newer
    /// announcement of a head whose pull is still waiting replaces it there instead of queueing
    /// another, and the same one delivered again (`.known(pull: true)`) queues nothing either.
    private func pullAnnounced(_ a: HeadAnnouncement, from peer: ObjectID, forwarding: Bool) async {
        let key = "\(a.repo)/\(a.writer.hex)/\(a.name)"
        let waiting = state.withLock { s -> Bool in
            defer { s.pendingPulls[key] = (a, peer) }
            return s.pendingPulls[key] != nil
        }
        guard !waiting else { return }
        var latest = a, from = peer
        let adopted: Bool
        do {
            adopted = try await pullLanes.with(a.writer) {
                if let p = self.state.withLock({ $0.pendingPulls.removeValue(forKey: key) }) { (latest, from) = p }
                return try await self.adopt(latest, from: from)
            }
        } catch {
            state.withLock { s in if s.pendingPulls[key]?.announcement == latest { s.pendingPulls[key] = nil } }
            if Self.isTransient(error) { forgetSeen(latest) }
            retryIfTransient(latest, from: from, after: error, attempt: 1, forwarding: forwarding || latest.seq != a.seq)
            return
        }
        // Forwarded after the pull, so the next hop can fetch the history from us; a newer
        // announcement that replaced this one while it waited was accepted, so it goes on too.
        if adopted && (forwarding || latest.seq != a.seq) { await forward(latest, except: [from, latest.writer]) }
    }

    /// Takes one of `peer`'s announcement tokens; logs the drops once a minute.
    func withinBudget(_ peer: ObjectID) -> Bool {
        let (ok, report) = state.withLock { s in
            (s.announcementBudget.take(peer, burst: max(configuration.maxHeadsPerWriter, 256)), s.announcementBudget.report(peer))
        }
        if let report {
            logger.warning(
                "peer \(peer.short) sends announcements faster than \(Int(AnnouncementBudget.refillPerSecond))/s; dropped \(report) since the last report"
            )
        }
        return ok
    }

    /// Sends `a` to the connected members of its repo except `except`. This node's own
    /// announcements go only to peers that told us what they last saw from us (`learned`), so a
    /// node whose index was lost never sends a number a peer already saw for another head.
    func forward(_ a: HeadAnnouncement, except: Set<ObjectID>) async {
        let body = SyncNotification.announce(a).encoded
        var targets = peers(of: a.repo, except: except)
        if a.writer == nodeID {
            let learned = state.withLock { $0.learned }
            targets.removeAll { !learned.contains(Self.sessionPrefix($0) + a.repo) }
        }
        for peer in targets {
            do { try await peer.notify(body) } catch { logger.info("forwarding to \(peer.remote.short) failed: \(error)") }
        }
    }

    /// Pulls the closure of `a.head` and points the remote head (repo, writer, name) at it,
    /// unless a newer announcement of that head was accepted meanwhile (its own pull sets it).
    /// Returns false when superseded.
    func adopt(_ a: HeadAnnouncement, from peer: ObjectID) async throws -> Bool {
        let index = repository.index
        if let last = try await blocking.run({ try index.lastSeen(repo: a.repo, writer: a.writer, name: a.name) }), last.seq > a.seq {
            return false
        }
        let ref = HeadRef(repo: a.repo, owner: a.writer, name: a.name)
        try await pull(repo: a.repo, commits: [a.head], head: ref, seq: a.seq, preferring: peer)
        // Remembered once the history is here: announcements of heads nobody can serve leave nothing behind.
        state.withLock { s in if s.firstAnnouncer[a.head] == nil { s.firstAnnouncer[a.head] = peer } }
        return true
    }

    /// Signed announcements received from a peer (get-heads): each is judged like gossip, but
    /// not forwarded (every member asks its own peers on connect).
    func apply(_ heads: [HeadAnnouncement], repo: String, from peer: ObjectID) async throws {
        for a in heads where a.repo == repo {
            switch try await blocking.run({ try self.judge(a, deliveredBy: peer) }) {
            case .accept, .known(pull: true):
                _ = markSeen(a)
                do { _ = try await adopt(a, from: peer) } catch {
                    if Self.isTransient(error) { forgetSeen(a) }
                    retryIfTransient(a, from: peer, after: error, attempt: 1, forwarding: false)
                }
            case .known(pull: false), .refused: break
            case .drop(let why):
                if why != "own announcement" {
                    logger.info("ignored head \(a.repo)/\(a.name)@\(a.writer.short) from \(peer.short): \(why)")
                }
            }
        }
    }
}
