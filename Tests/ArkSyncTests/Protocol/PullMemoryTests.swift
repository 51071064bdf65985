import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// A commit whose trees are large (the case of a peer serving trees near the object limit, 16
/// MiB each): the pull's walk holds one response, or one batch read back from the store, at a
/// time, never a page of 1,024 of them (16 GiB at the limit).
@Suite struct PullMemoryTests {
    /// A tree of `entries` symlinks with 4,000-byte targets (about 4 KiB each), unique to `seed`.
    static func bigTree(_ seed: Int, entries: Int) throws -> [UInt8] {
        try Tree(
            entries: (0..<entries).map { i in
                .symlink(FileName(String(format: "s%05d", i)), target: String(repeating: "\(seed % 10)", count: 3990) + "-\(seed)-\(i)")
            }
        ).encoded()
    }

    /// Commits on `node` a root tree of `count` directories, each a tree of about `entries` x 4 KiB.
    static func commitBigTrees(_ node: SyncNode, count: Int, entries: Int) throws -> (commit: ObjectID, trees: [[UInt8]]) {
        let session = try WriteSession(node.repo)
        var trees: [[UInt8]] = []
        var dirs: [Tree.Entry] = []
        for i in 0..<count {
            let bytes = try bigTree(i, entries: entries)
            trees.append(bytes)
            dirs.append(.directory(FileName(String(format: "d%03d", i)), tree: try session.put(.tree, bytes), size: 0))
        }
        let root = try session.put(.tree, try Tree(entries: dirs).encoded())
        let sig = Commit.Signature(name: "T", email: "t@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let ref = HeadRef(repo: "r", owner: node.id)
        let c = Commit(tree: root, parents: [], author: sig, committer: sig, message: "big trees", node: node.id)
        return (try session.commit(c, head: ref, expected: nil, cause: "test"), trees)
    }

    @Test func aPullHoldsOneResponseOfLargeTreesAtATime() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        // 40 trees of ~1 MiB: 40 MiB of metadata in one level (one page).
        let (commit, trees) = try Self.commitBigTrees(a, count: 40, entries: 256)
        let total = trees.reduce(0) { $0 + $1.count }
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == commit)
        let largest = b.engine.largestPullBatch.withLock { $0 }
        print("[pull] \(trees.count) trees, \(total >> 20) MiB in one level: at most \(largest >> 10) KiB held at once")
        #expect(total > 32 << 20)
        // One response (the responder's 8 MiB budget), not the page (40 MiB).
        #expect(largest > 0 && largest <= SyncLimits.responseBudget)
        #expect(try b.repo.verify(roots: [commit], allObjects: true).ok)
    }

    @Test func aResumedPullReadsLargeTreesBackABatchAtATime() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let (commit, trees) = try Self.commitBigTrees(a, count: 40, entries: 256)
        // An interrupted pull stored the trees on b, but not the commit.
        let session = try WriteSession(b.repo)
        for t in trees { try session.put(.tree, t) }
        try session.checkpoint()
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == commit)
        let largest = b.engine.largestPullBatch.withLock { $0 }
        print("[pull] \(trees.count) trees of ~1 MiB read back: at most \(largest >> 10) KiB held at once")
        #expect(largest > 0 && largest <= PullWalk.batchBytes)
    }

    /// A history of commits near the object limit (1 MiB messages): a pull holds at most
    /// `maxCommitBytesPerPull` of them (here 3 MiB) and is refused past it, naming the limit;
    /// the head does not move. Under the limit the same history arrives.
    @Test(arguments: [false, true])
    func aPullHoldsAtMostItsCommitBytes(overTheLimit: Bool) async throws {
        let a = try SyncNode(), b = try SyncNode()
        a.start(SyncConfiguration(repos: [shared("r", [a, b])]))
        var config = SyncConfiguration(repos: [shared("r", [a, b])])
        config.maxCommitBytesPerPull = overTheLimit ? 3 << 20 : 8 << 20
        b.start(config)
        let session = try WriteSession(a.repo)
        let tree = try session.put(.tree, try Tree(entries: []).encoded())
        let sig = Commit.Signature(name: "T", email: "t@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let ref = HeadRef(repo: "r", owner: a.id)
        var head: ObjectID?
        for i in 0..<5 {
            let message = String(repeating: "\(i)", count: (1 << 20) - 64)
            let c = Commit(tree: tree, parents: head.map { [$0] } ?? [], author: sig, committer: sig, message: message, node: a.id)
            head = try session.commit(c, head: ref, expected: head, cause: "test")
        }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        await net.settle()
        var message = ""
        do { try await b.engine.pull(repo: "r", commits: [head!], head: ref, preferring: a.id) } catch { message = "\(error)" }
        print("[pull] 5 commits of 1 MiB, limit \(config.maxCommitBytesPerPull >> 20) MiB: \(message.isEmpty ? "pulled" : message)")
        if overTheLimit {
            #expect(message == "protocol violation: more than 3 MiB of commits in one pull")
            #expect(try b.head(of: a) == nil)
            #expect(try b.repo.index.hasCommit(head!) == false)
        } else {
            #expect(message.isEmpty)
            #expect(try b.head(of: a) == head)
        }
    }
}
