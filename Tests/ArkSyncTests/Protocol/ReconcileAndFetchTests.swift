import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// Flips the first byte of every object in a get-objects response (a lying peer).
@Sendable func corruptObjects(_ response: [UInt8]) -> [UInt8] {
    guard case .objects(let objects) = try? SyncResponse(decoding: response), !objects.isEmpty else { return response }
    return SyncResponse.objects(
        objects.map { o in
            var o = o
            if !o.bytes.isEmpty { o.bytes[0] ^= 0xff }
            return o
        }
    ).encoded
}

@Suite("Reconciliation, access control and fetch")
struct ReconcileAndFetchTests {
    @Test func coldStartReceivesWholeHistory() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        var last: ObjectID?
        for i in 0..<200 { last = try a.commit(["f": bytes(100, seed: UInt8(i % 251))], message: "c\(i)") }
        try await a.engine.announceLocalHeads()
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        await net.settle()
        #expect(try b.head(of: a) == last)
        #expect(try b.repo.index.commitCount() == 200)
        #expect(try b.repo.index.reachableCommits(repo: "r").count == 200)
        for chunk in try chunkIDs(a, commit: try #require(last)) { #expect(try b.has(chunk)) }
    }

    @Test func partitionHealGivesBothSidesTheUnion() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        try a.commit(["base": bytes(50, seed: 1)])
        try await a.engine.announceLocalHeads()
        await net.settle()
        await net.disconnectAll()
        var headA: ObjectID?, headB: ObjectID?
        for i in 0..<3 { headA = try a.commit(["a\(i)": bytes(300, seed: UInt8(i))]) }
        for i in 0..<2 { headB = try b.commit(["b\(i)": bytes(300, seed: UInt8(50 + i))]) }
        // Announcing while disconnected reaches nobody but records the signed heads.
        try await a.engine.announceLocalHeads()
        try await b.engine.announceLocalHeads()
        await net.connect(a, b)
        await net.settle()
        #expect(try b.head(of: a) == headA)
        #expect(try a.head(of: b) == headB)
        #expect(try a.repo.index.commitCount() == 6)
        #expect(try b.repo.index.commitCount() == 6)
        for chunk in try chunkIDs(b, commit: try #require(headB)) { #expect(try a.has(chunk)) }
        for chunk in try chunkIDs(a, commit: try #require(headA)) { #expect(try b.has(chunk)) }
    }

    @Test func peerIsRefusedReposThatDoNotListIt() async throws {
        let a = try SyncNode(), b = try SyncNode(), c = try SyncNode()
        // "secret" lists only A and C; B shares only "r" with A.
        a.start(SyncConfiguration(repos: [shared("r", [a, b]), shared("secret", [a, c])]))
        b.start(SyncConfiguration(repos: [shared("r", [a, b]), shared("secret", [a, b])]))
        let secret = try a.commit(["s": bytes(200, seed: 4)], repoID: "secret")
        let secretChunk = try chunkIDs(a, commit: secret)[0]
        try await a.engine.announceLocalHeads()
        let net = LoopbackNet([a, b])
        let link = await net.connect(a, b)
        await net.settle()
        #expect(try b.head(of: a, repoID: "secret") == nil)
        #expect(try !b.repo.index.hasCommit(secret))
        for request in [SyncRequest.getHeads(repo: "secret"), .reconcile(repo: "secret", start: true, message: [1])] {
            await #expect(throws: SyncError.self) { try await link.1.request(request.encoded, deadline: 5) }
        }
        // Objects of repos that do not list B are answered as absent.
        let reply = try SyncResponse(decoding: try await link.1.request(SyncRequest.getObjects([secret, secretChunk]).encoded, deadline: 5))
        #expect(reply == .objects([]))
        // A node that is a member of nothing is disconnected at once.
        let stranger = try SyncNode()
        stranger.start(SyncConfiguration(repos: []))
        let (toStranger, _) = LoopbackConnection.pair((a.id, a.engine), (stranger.id, stranger.engine))
        await a.engine.connectionOpened(toStranger)
        #expect(toStranger.isClosed)
        #expect(!a.engine.connectedPeers.contains(stranger.id))
    }

    @Test func wrongBytesAreRejectedAndAnotherPeerUsed() async throws {
        let a = try SyncNode(), b = try SyncNode(), liar = try SyncNode()
        let members = [a, b, liar]
        a.start(SyncConfiguration(repos: [shared("r", members)]))
        liar.start(SyncConfiguration(repos: [shared("r", members)]))
        b.start(SyncConfiguration(repos: [shared("r", members, fetch: .lazy)]))
        let content = bytes(5000, seed: 77)
        let c = try a.commit(["f": content])
        try await a.engine.announceLocalHeads()
        let net = LoopbackNet([a, b, liar])
        await net.connect(a, liar)
        await net.settle()
        #expect(try liar.head(of: a) == c)
        // B hears of the head from the liar first; every object the liar sends is corrupted.
        let toLiar = await net.connect(b, liar)
        toLiar.0.faults.tamper = corruptObjects
        await net.settle()
        #expect(try b.head(of: a) == nil)
        await net.connect(b, a)
        await net.settle()
        #expect(try b.head(of: a) == c)
        let chunk = try chunkIDs(b, commit: c)[0]
        #expect(try !b.has(chunk))
        let got = try await ChunkFetcher(engine: b.engine).fetch(chunk, preferring: liar.id)
        #expect(got == Array(content[0..<4096]))
        #expect(try b.repo.read(chunk, kind: .chunk) == got)
    }

    @Test func slowPeerIsSkippedForChunkFetch() async throws {
        let a = try SyncNode(), b = try SyncNode(), slow = try SyncNode()
        let members = [a, b, slow]
        a.start(SyncConfiguration(repos: [shared("r", members)]))
        slow.start(SyncConfiguration(repos: [shared("r", members)]))
        b.start(SyncConfiguration(repos: [shared("r", members, fetch: .lazy)]))
        let c = try a.commit(["f": bytes(3000, seed: 5)])
        try await a.engine.announceLocalHeads()
        let net = LoopbackNet([a, b, slow])
        await net.connect(a, slow)
        await net.connect(b, a)
        let toSlow = await net.connect(b, slow)
        await net.settle()
        let chunk = try chunkIDs(b, commit: c)[0]
        toSlow.0.faults.delay = 5
        let start = Date()
        let got = try await ChunkFetcher(engine: b.engine, deadline: 4, peerDeadline: 0.5).fetch(chunk, preferring: slow.id)
        #expect(ObjectHasher.hash(.chunk, got) == chunk)
        #expect(Date().timeIntervalSince(start) < 3)
    }
}
