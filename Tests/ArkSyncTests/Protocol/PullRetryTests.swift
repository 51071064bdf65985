import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// A pull that fails transiently (the peer's first answers time out or the connection hiccups)
/// is asked again with backoff on the live connection: the head arrives without another
/// announcement or a reconnect. One that failed on bad bytes is not asked again.
@Suite struct PullRetryTests {
    func pair(retries: Int = 8) async -> (SyncNode, SyncNode, LoopbackNet, bToA: LoopbackConnection)? {
        guard let a = try? SyncNode(), let b = try? SyncNode() else { return nil }
        for n in [a, b] {
            var config = SyncConfiguration(repos: [shared("r", [a, b])])
            config.pullRetryDelay = 0.05
            config.pullRetryMaxDelay = 0.4
            config.pullRetries = retries
            n.start(config)
        }
        let net = LoopbackNet([a, b])
        let (_, bToA) = await net.connect(a, b)
        await net.settle()
        return (a, b, net, bToA)
    }

    /// Waits up to `seconds` for `condition`.
    func eventually(_ seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if try condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try condition()
    }

    @Test(arguments: [SyncError.closed, .timeout])
    func aTransientlyFailedPullIsRetried(_ failure: SyncError) async throws {
        let (a, b, net, bToA) = try #require(await pair())
        let commit = try a.commit(["f": bytes(5000, seed: 9)])
        // b's first three requests to a fail: the pull of the announced head and two retries.
        bToA.faults.failWith = failure
        bToA.faults.failNext = 3
        let start = ContinuousClock.now
        try await a.engine.announceLocalHeads()
        let arrived = try await eventually(10) { try b.head(of: a) == commit }
        print(
            "[pull] head after 3 failed requests (\(failure)): \(start.duration(to: .now)), \(bToA.requestsSent.withLock { $0 }) requests")
        #expect(arrived)
        #expect(bToA.faults.failNext == 0)
        #expect(bToA.isClosed == false)
        await net.settle()
        #expect(b.engine.pendingRetries == 0)
        #expect(try b.repo.verify(roots: [commit], allObjects: true).ok)
    }

    @Test func retriesEndAfterTheLimit() async throws {
        let (a, b, _, bToA) = try #require(await pair(retries: 2))
        let commit = try a.commit(["f": bytes(100, seed: 10)])
        bToA.faults.failNext = 1000
        let before = bToA.requestsSent.withLock { $0 }  // those of catching up on connect
        try await a.engine.announceLocalHeads()
        // The pull and 2 retries (0.05 s, 0.1 s), then nothing.
        #expect(await eventually(5) { bToA.requestsSent.withLock { $0 } - before >= 3 && b.engine.pendingRetries == 0 && !b.engine.isBusy })
        let sent = bToA.requestsSent.withLock { $0 } - before
        try await Task.sleep(for: .milliseconds(500))
        #expect(bToA.requestsSent.withLock { $0 } - before == sent)
        #expect(sent == 3, "one pull and two retries, one request each")
        #expect(try b.head(of: a) == nil)
        _ = commit
    }

    @Test func aPeerThatSentBadBytesIsNotAskedAgain() async throws {
        let (a, b, _, bToA) = try #require(await pair())
        let commit = try a.commit(["f": bytes(100, seed: 11)])
        // Every object a sends b is corrupted on the way: the hash check refuses it.
        bToA.faults.tamper = { reply in
            var r = reply
            if r.count > 40 { r[r.count - 1] ^= 0xff }
            return r
        }
        try await a.engine.announceLocalHeads()
        #expect(await eventually(5) { bToA.requestsSent.withLock { $0 } >= 1 && !b.engine.isBusy })
        let sent = bToA.requestsSent.withLock { $0 }
        try await Task.sleep(for: .milliseconds(500))
        #expect(bToA.requestsSent.withLock { $0 } == sent, "no retry against a peer that sent bad bytes")
        #expect(b.engine.pendingRetries == 0)
        #expect(try b.head(of: a) == nil)
        _ = commit
    }

    @Test func aNewerAnnouncementSupersedesARetry() async throws {
        let (a, b, net, bToA) = try #require(await pair())
        _ = try a.commit(["f": bytes(100, seed: 12)])
        bToA.faults.failNext = 1
        try await a.engine.announceLocalHeads()
        #expect(await eventually(5) { b.engine.pendingRetries == 1 || (try? b.head(of: a)) != nil })
        let second = try a.commit(["f": bytes(100, seed: 13)])
        try await a.engine.announceLocalHeads()
        #expect(try await eventually(10) { try b.head(of: a) == second })
        await net.settle()
        try await Task.sleep(for: .milliseconds(300))
        #expect(try b.head(of: a) == second, "a retry of the older head must not move it back")
    }
}
