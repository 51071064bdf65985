import ArkCore
import Foundation

/// This node's own announcements. Sequence numbers are allocated in one index transaction
/// (two processes on one store never reuse one), and always above what peers saw from us: a
/// node whose index was lost or restored from an older copy learns its last numbers from each
/// peer's get-heads answer before it sends that peer anything of its own.
extension SyncEngine {
    /// Signs and sends an announcement for every head of this node (in configured repos) that
    /// moved since it was last announced. Call it whenever the index's heads may have changed;
    /// returns the announcements sent.
    @discardableResult
    package func announceLocalHeads() async throws -> [HeadAnnouncement] {
        var sent: [HeadAnnouncement] = []
        for repo in configuration.repos {
            // The index work (heads, generations, the next sequence numbers) on the blocking
            // pool; forwarding on the caller's task.
            let signed = try await blocking.run { try self.signOwnHeads(repo: repo.id) }
            for a in signed {
                _ = markSeen(a)
                await forward(a, except: [])
                sent.append(a)
            }
        }
        return sent
    }

    /// Signs and stores an announcement for every head of this node in `repo` that moved
    /// since it was last announced (blocking: index reads and one transaction per head).
    private func signOwnHeads(repo: String) throws -> [HeadAnnouncement] {
        let identity = repository.identity
        var out: [HeadAnnouncement] = []
        for head in try repository.index.heads(repo: repo) where head.ref.owner == nodeID {
            let generation = try repository.index.commit(head.commit).map { UInt64($0.generation) } ?? 0
            let time = UInt64(Date().timeIntervalSince1970 * 1000)
            var signed: HeadAnnouncement?
            let stored = try repository.index.nextOwnAnnouncement(repo: repo, name: head.ref.name, head: head.commit, writer: nodeID) {
                seq, previous in
                let a = HeadAnnouncement.signed(
                    by: identity, repo: repo, name: head.ref.name, seq: seq,
                    generation: generation, head: head.commit, previous: previous, time: time)
                signed = a
                return a.encoded
            }
            if stored != nil, let a = signed { out.append(a) }
        }
        return out
    }

    /// `announceLocalHeads()` as tracked background work (stopped with the engine), for
    /// callers that are not async, such as a `HeadWatcher` notification.
    package func announceLocalHeadsInBackground() {
        spawn("announcing heads") { _ = try? await self.announceLocalHeads() }
    }

    /// One of this node's announcements, reported back by `peer` (validly signed): if its
    /// number is above the one stored here, the index forgot it, and the next announcement of
    /// that head goes above it.
    func learnOwn(_ a: HeadAnnouncement, from peer: ObjectID) throws {
        let stored = StoredAnnouncement(repo: a.repo, writer: a.writer, name: a.name, seq: a.seq, head: a.head, bytes: a.encoded)
        if try repository.index.learnOwn(stored) {
            logger.notice(
                "peer \(peer.short) saw announcement \(a.seq) of \(a.repo)/\(a.name) from this node, above the index's; announcing above it"
            )
        }
    }

    /// Marks `repo` on `connection` as learned: its peer's view of our announcements is known.
    func markLearned(_ connection: any PeerConnection, repo: String) {
        state.withLock { s in
            guard s.open.contains(ObjectIdentifier(connection)) else { return }  // closed meanwhile
            s.learned.insert(Self.sessionPrefix(connection) + repo)
        }
    }

    /// Sends `connection` this node's announcements of `repo` that are newer than what its
    /// peer reported (`peerSaw`, its get-heads answer).
    func sendOwn(repo: String, to connection: any PeerConnection, peerSaw: [HeadAnnouncement]) async throws {
        var seen: [String: UInt64] = [:]
        for a in peerSaw where a.writer == nodeID && a.repo == repo { seen[a.name] = max(seen[a.name] ?? 0, a.seq) }
        let index = repository.index
        for own in try await blocking.run({ try index.ownAnnouncements(repo: repo) }) where own.seq > seen[own.name] ?? 0 {
            guard let a = try? HeadAnnouncement(decoding: own.bytes) else { continue }
            do { try await connection.notify(SyncNotification.announce(a).encoded) } catch {
                logger.info("sending own heads to \(connection.remote.short) failed: \(error)")
                return
            }
        }
    }
}
