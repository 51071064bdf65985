import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// Chunk ids of every file in the commit's root tree.
func chunkIDs(_ node: SyncNode, commit: ObjectID) throws -> [ObjectID] {
    let tree = try node.repo.tree(try node.repo.commit(commit).tree)
    return try tree.entries.compactMap(\.id).flatMap { try node.repo.manifest($0).entries.map(\.id) }
}

func bytes(_ n: Int, seed: UInt8) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed } }

@Suite("Gossip of signed heads")
struct GossipTests {
    /// Two started nodes sharing repo "r", connected.
    func pair(fetch: SyncConfiguration.FetchPolicy = .full) async throws -> (
        SyncNode, SyncNode, LoopbackNet, (LoopbackConnection, LoopbackConnection)
    ) {
        let a = try SyncNode(), b = try SyncNode()
        a.start(SyncConfiguration(repos: [shared("r", [a, b], fetch: fetch)]))
        b.start(SyncConfiguration(repos: [shared("r", [a, b], fetch: fetch)]))
        let net = LoopbackNet([a, b])
        let link = await net.connect(a, b)
        await net.settle()
        return (a, b, net, link)
    }

    @Test func announcedCommitIsPulledAndHeadSet() async throws {
        let (a, b, net, _) = try await pair()
        let c = try a.commit(["f": bytes(10_000, seed: 1), "g": bytes(100, seed: 2)])
        let sent = try await a.engine.announceLocalHeads()
        #expect(sent.count == 1)
        #expect(sent.first?.seq == 1)
        await net.settle()
        #expect(try b.head(of: a) == c)
        for chunk in try chunkIDs(a, commit: c) { #expect(try b.has(chunk)) }
        // Nothing moved: nothing to announce.
        #expect(try await a.engine.announceLocalHeads().isEmpty)
    }

    @Test func lazyRepoGetsMetadataThenChunkOnDemand() async throws {
        let (a, b, net, _) = try await pair(fetch: .lazy)
        let content = bytes(9000, seed: 7)
        let c = try a.commit(["big": content])
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == c)
        let chunks = try chunkIDs(b, commit: c)
        #expect(chunks.count == 3)
        for chunk in chunks {
            let row = try #require(try b.repo.index.object(chunk))
            #expect(!row.isPresent)
        }
        let fetcher = ChunkFetcher(engine: b.engine)
        let got = try await fetcher.fetch(chunks[1], preferring: b.engine.firstAnnouncer(of: c))
        #expect(got == Array(content[4096..<8192]))
        #expect(try b.has(chunks[1]))
        #expect(try !b.has(chunks[2]))
    }

    @Test func chunkFetchWithoutPeersFailsWithinDeadline() async throws {
        let (a, b, net, _) = try await pair(fetch: .lazy)
        let c = try a.commit(["x": bytes(5000, seed: 3)])
        try await a.engine.announceLocalHeads()
        await net.settle()
        let chunk = try chunkIDs(b, commit: c)[0]
        await net.disconnectAll()
        let start = Date()
        await #expect(throws: SyncError.self) { try await ChunkFetcher(engine: b.engine, deadline: 1).fetch(chunk, preferring: a.id) }
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func replayedAndRolledBackAnnouncementsAreDropped() async throws {
        let (a, b, net, link) = try await pair()
        try a.commit(["f": bytes(10, seed: 1)])
        let first = try #require(try await a.engine.announceLocalHeads().first)
        let c2 = try a.commit(["f": bytes(10, seed: 2)])
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == c2)
        // Exact replay, and a freshly signed rollback to the old head at an old sequence number.
        let rollback = HeadAnnouncement.signed(
            by: a.repo.identity, repo: "r", name: "", seq: 1, generation: 1,
            head: first.head, previous: nil, time: 42)
        await b.engine.handleNotification(SyncNotification.announce(first).encoded, from: link.1)
        await b.engine.handleNotification(SyncNotification.announce(rollback).encoded, from: link.1)
        await net.settle()
        #expect(try b.head(of: a) == c2)
        #expect(try b.repo.index.lastSeen(repo: "r", writer: a.id, name: "")?.seq == 2)
        // A restarted engine (no in-memory duplicate cache) still drops the replay: the sequence is persisted.
        let restarted = SyncEngine(repository: b.repo, configuration: b.engine.configuration)
        await restarted.handleNotification(SyncNotification.announce(first).encoded, from: link.1)
        await restarted.waitUntilIdle()
        #expect(try b.head(of: a) == c2)
    }

    @Test func equivocationIsRecordedNotApplied() async throws {
        let (a, b, net, link) = try await pair()
        let c1 = try a.commit(["f": bytes(10, seed: 1)])
        let c2 = try a.commit(["f": bytes(10, seed: 2)])
        let one = HeadAnnouncement.signed(by: a.repo.identity, repo: "r", name: "", seq: 5, generation: 2, head: c2, previous: nil, time: 1)
        let two = HeadAnnouncement.signed(by: a.repo.identity, repo: "r", name: "", seq: 5, generation: 1, head: c1, previous: nil, time: 1)
        await b.engine.handleNotification(SyncNotification.announce(one).encoded, from: link.1)
        await net.settle()
        #expect(try b.head(of: a) == c2)
        await b.engine.handleNotification(SyncNotification.announce(two).encoded, from: link.1)
        await net.settle()
        #expect(try b.head(of: a) == c2)
        let proofs = try b.repo.index.equivocations(repo: "r")
        #expect(proofs.count == 1)
        #expect(proofs.first?.first == one.encoded)
        #expect(proofs.first?.second == two.encoded)
    }

    @Test func forgedAndNonMemberAnnouncementsAreDropped() async throws {
        let (a, b, net, link) = try await pair()
        let c = try a.commit(["f": bytes(10, seed: 1)])
        var forged = HeadAnnouncement.signed(
            by: a.repo.identity, repo: "r", name: "", seq: 1, generation: 1, head: c, previous: nil, time: 1)
        forged.signature[0] ^= 1
        let outsider = try SyncNode()
        let foreign = HeadAnnouncement.signed(
            by: outsider.repo.identity, repo: "r", name: "", seq: 1, generation: 1, head: c, previous: nil, time: 1)
        // Correctly signed by a member, but for a repo B does not share with A.
        let otherRepo = HeadAnnouncement.signed(
            by: a.repo.identity, repo: "other", name: "", seq: 1, generation: 1, head: c, previous: nil, time: 1)
        for x in [forged, foreign, otherRepo] {
            await b.engine.handleNotification(SyncNotification.announce(x).encoded, from: link.1)
        }
        await net.settle()
        #expect(try b.head(of: a) == nil)
        #expect(try b.repo.index.lastSeen(repo: "r", writer: a.id, name: "") == nil)
        #expect(try b.repo.index.lastSeen(repo: "r", writer: outsider.id, name: "") == nil)
        #expect(try !b.repo.index.hasCommit(c))
        // Malformed bytes drop the connection.
        await b.engine.handleNotification([1, 1, 0xff], from: link.1)
        #expect(link.1.isClosed)
    }

    @Test func forwardingAlongALineWithDuplicateSuppression() async throws {
        let a = try SyncNode(), b = try SyncNode(), c = try SyncNode()
        for n in [a, b, c] { n.start(SyncConfiguration(repos: [shared("r", [a, b, c])])) }
        let net = LoopbackNet([a, b, c])
        let ab = await net.connect(a, b)
        let bc = await net.connect(b, c)
        await net.settle()
        let commit = try a.commit(["f": bytes(6000, seed: 9)])
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try c.head(of: a) == commit)
        for chunk in try chunkIDs(a, commit: commit) { #expect(try c.has(chunk)) }
        // A -> B once, B -> C once; C has nobody else to tell and B does not echo back to A.
        #expect(ab.0.notificationsSent.withLock { $0 } == 1)
        #expect(ab.1.notificationsSent.withLock { $0 } == 0)
        #expect(bc.0.notificationsSent.withLock { $0 } == 1)
        #expect(bc.1.notificationsSent.withLock { $0 } == 0)

        // Close the triangle: each node still forwards a given announcement at most once.
        let ac = await net.connect(a, c)
        await net.settle()
        let commit2 = try a.commit(["f": bytes(6000, seed: 10)])
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == commit2)
        #expect(try c.head(of: a) == commit2)
        let total = [ab.0, ab.1, bc.0, bc.1, ac.0, ac.1].map { $0.notificationsSent.withLock { $0 } }.reduce(0, +)
        #expect(total <= 2 + 4)
    }
}
