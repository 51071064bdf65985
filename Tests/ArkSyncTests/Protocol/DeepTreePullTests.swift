import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// A peer announcing a commit whose tree nests directories deeper than commit and import
/// allow (`ObjectLimits.maxTreeDepth`): the pull is refused and no head points at it, while a
/// tree exactly at the limit arrives as usual.
@Suite struct DeepTreePullTests {
    /// Commits on `node` a tree nesting `depth` directories `d` above a file `f`.
    static func commitDeep(_ node: SyncNode, depth: Int, content: [UInt8]) throws -> ObjectID {
        let session = try WriteSession(node.repo)
        let manifest = try session.putManifest([Manifest.Entry(id: try session.put(.chunk, content), length: UInt64(content.count))])
        var tree = try session.put(.tree, try Tree(entries: [.file("f", manifest: manifest, size: UInt64(content.count))]).encoded())
        for _ in 0..<depth {
            tree = try session.put(.tree, try Tree(entries: [.directory("d", tree: tree, size: UInt64(content.count))]).encoded())
        }
        let ref = HeadRef(repo: "r", owner: node.id)
        let parent = try node.repo.index.head(ref)
        let sig = Commit.Signature(name: "T", email: "t@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let c = Commit(
            tree: tree, parents: parent.map { [$0] } ?? [], author: sig, committer: sig, message: "depth \(depth)", node: node.id)
        return try session.commit(c, head: ref, expected: parent, cause: "test")
    }

    @Test func treeDeeperThanTheLimitIsRefused() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        let deep = try Self.commitDeep(a, depth: ObjectLimits.maxTreeDepth + 1, content: bytes(10, seed: 1))
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == nil)
        #expect(try b.repo.index.hasCommit(deep) == false)
    }

    @Test func treeAtTheLimitArrives() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        let atLimit = try Self.commitDeep(a, depth: ObjectLimits.maxTreeDepth, content: bytes(10, seed: 2))
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == atLimit)
    }
}
