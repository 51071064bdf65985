import Foundation
import Testing

@testable import ArkCore
@testable import ArkSync

/// A member cannot get a commit accepted whose git bytes (`Commit.gitRaw`) say something other
/// than its ark fields: `ark log` and git would show that commit differently.
@Suite("Pulls of commits whose git form disagrees")
struct GitFormAgreementPullTests {
    /// Stores `commit` on `node` as it is encoded (no check), moves `node`'s head to it, and
    /// has `node` announce it to `to`.
    func plant(_ commit: Commit, on node: SyncNode, seq: UInt64, to: SyncNode, over link: LoopbackConnection) async throws -> ObjectID {
        let session = try WriteSession(node.repo)
        let id = try session.put(.commit, commit.encoded())
        try session.checkpoint()
        let ref = HeadRef(repo: "r", owner: node.id)
        try node.repo.index.write { db in
            try Index.insertCommit(db, id: id, commit)
            try Index.setHead(db, ref, to: id, expected: commit.parents.first, actor: node.id, cause: "test", time: 0)
        }
        let ann = HeadAnnouncement.signed(
            by: node.repo.identity, repo: "r", name: "", seq: seq, generation: UInt64(seq), head: id,
            previous: commit.parents.first, time: UInt64(Date().timeIntervalSince1970 * 1000))
        await to.engine.handleNotification(SyncNotification.announce(ann).encoded, from: link)
        return id
    }

    @Test func aCommitWhoseGitBytesNameAnotherAuthorIsRefused() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let base = try a.commit(["f": bytes(100, seed: 1)])
        try await a.engine.announceLocalHeads()
        let net = LoopbackNet([a, b])
        let (_, bToA) = await net.connect(a, b)
        await net.settle()
        #expect(try b.head(of: a) == base)

        // The control: a commit planted the same way that tells the truth is accepted.
        var honest = try a.repo.commit(base)
        honest.parents = [base]
        honest.message = "honest"
        honest.gitRaw = Array("author T <t@example.org> 1700000000 +0000\ncommitter T <t@example.org> 1700000000 +0000\n\nhonest".utf8)
        let honestID = try await plant(honest, on: a, seq: 1_000_000, to: b, over: bToA)
        await net.settle()
        #expect(try b.head(of: a) == honestID)

        // The lie: ark fields say T wrote it, the git bytes say Mallory did.
        var lie = honest
        lie.parents = [honestID]
        lie.gitRaw = Array("author Mallory <m@example.org> 1700000000 +0000\ncommitter T <t@example.org> 1700000000 +0000\n\nhonest".utf8)
        let error = #expect(throws: ArkError.self) { try Commit(decoding: lie.encoded()) }
        #expect(error?.message.contains("disagree with its author") == true, "\(error?.description ?? "")")
        let lieID = try await plant(lie, on: a, seq: 1_000_001, to: b, over: bToA)
        await net.settle()
        #expect(try b.head(of: a) == honestID)
        #expect(try !b.has(lieID))
        await net.disconnectAll()
    }
}
