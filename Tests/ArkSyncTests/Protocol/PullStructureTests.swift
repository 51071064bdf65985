import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// A peer serving a commit whose objects hash right but whose structure lies: a manifest whose
/// entries are not one level below it or not as long as the entries say, a level-0 manifest
/// naming a manifest where a chunk belongs, tree entries naming objects of another kind, a file
/// entry whose size is not its manifest's. The
/// pull is refused with an error naming the object, the head does not move, and what was
/// stored verifies.
@Suite struct PullStructureTests {
    enum Lie: String, CaseIterable, CustomStringConvertible {
        /// A level-2 manifest whose entry is a level-2 manifest (a chain of any depth).
        case sameLevelChild
        /// A level-1 manifest whose entry says 20 bytes, naming a level-0 manifest of 10.
        case wrongLength
        /// A level-0 manifest naming a manifest (walked beside it) as a chunk.
        case manifestAsChunk
        /// A directory entry naming a manifest that a file entry names too.
        case manifestAsTree
        /// A file entry naming a tree that a directory entry names too.
        case treeAsManifest
        /// A level-2 manifest naming a level-0 manifest that a file entry names first.
        case skippedLevelBehindAFile
        /// A file entry saying 15 bytes for a manifest of 10.
        case wrongEntrySize
        /// Two file entries naming one manifest, one saying 10 bytes, the other 12.
        case twoEntrySizes
        /// A file entry saying 12 bytes for a manifest that a manifest's entry, at the same
        /// depth of the walk, says is 10.
        case entrySizeBesideAManifest
        /// A file entry two directories down saying 12 bytes for a manifest walked (as 10
        /// bytes) a level before the walk reaches the entry.
        case entrySizeAfterTheManifestWasWalked

        var description: String { rawValue }
    }

    /// Stores on `node` a commit whose tree holds `lie`; returns the commit and the object lied about.
    static func commitLie(_ lie: Lie, on node: SyncNode) throws -> (commit: ObjectID, culprit: ObjectID) {
        let s = try WriteSession(node.repo)
        let content = bytes(10, seed: 7)
        let chunk = try s.put(.chunk, content)
        let m0 = try s.put(.manifest, Manifest(level: 0, entries: [.init(id: chunk, length: 10)]).bytes)
        let m1 = try s.put(.manifest, Manifest(level: 1, entries: [.init(id: m0, length: 10)]).bytes)
        let m2 = try s.put(.manifest, Manifest(level: 2, entries: [.init(id: m1, length: 10)]).bytes)
        let inner = try s.put(.tree, try Tree(entries: [.file("x", manifest: m0, size: 10)]).encoded())
        var entries: [Tree.Entry] = []
        let culprit: ObjectID
        switch lie {
        case .sameLevelChild:
            let bad = try s.put(.manifest, Manifest(level: 2, entries: [.init(id: m2, length: 10)]).bytes)
            entries = [.file("f", manifest: bad, size: 10)]
            culprit = m2
        case .wrongLength:
            let bad = try s.put(.manifest, Manifest(level: 1, entries: [.init(id: m0, length: 20)]).bytes)
            entries = [.file("f", manifest: bad, size: 20)]
            culprit = m0
        case .manifestAsChunk:
            let bad = try s.put(.manifest, Manifest(level: 0, entries: [.init(id: m0, length: 10)]).bytes)
            entries = [.file("f", manifest: bad, size: 10), .file("g", manifest: m0, size: 10)]
            culprit = m0
        case .manifestAsTree:
            entries = [.file("f", manifest: m0, size: 10), .directory("g", tree: m0, size: 10)]
            culprit = m0
        case .treeAsManifest:
            entries = [.directory("d", tree: inner, size: 10), .file("f", manifest: inner, size: 10)]
            culprit = inner
        case .skippedLevelBehindAFile:
            let bad = try s.put(.manifest, Manifest(level: 2, entries: [.init(id: m0, length: 10)]).bytes)
            // Both at the same depth below the root: "a" names m0 as any manifest first.
            let sub = try s.put(.tree, try Tree(entries: [.file("a", manifest: m0, size: 10)]).encoded())
            let sub2 = try s.put(.tree, try Tree(entries: [.file("b", manifest: m1, size: 10)]).encoded())
            entries = [.directory("a", tree: sub, size: 10), .directory("b", tree: sub2, size: 10), .file("z", manifest: bad, size: 10)]
            culprit = m0
        case .wrongEntrySize:
            entries = [.file("f", manifest: m0, size: 15)]
            culprit = m0
        case .twoEntrySizes:
            entries = [.file("f", manifest: m0, size: 10), .file("g", manifest: m0, size: 12)]
            culprit = m0
        case .entrySizeBesideAManifest:
            let sub = try s.put(.tree, try Tree(entries: [.file("a", manifest: m0, size: 12)]).encoded())
            entries = [.directory("d", tree: sub, size: 12), .file("f", manifest: m1, size: 10)]
            culprit = m0
        case .entrySizeAfterTheManifestWasWalked:
            let e = try s.put(.tree, try Tree(entries: [.file("a", manifest: m0, size: 12)]).encoded())
            let d = try s.put(.tree, try Tree(entries: [.directory("e", tree: e, size: 12)]).encoded())
            entries = [.directory("d", tree: d, size: 12), .file("f", manifest: m1, size: 10)]
            culprit = m0
        }
        let root = try s.put(.tree, try Tree(entries: entries).encoded())
        let sig = Commit.Signature(name: "T", email: "t@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let c = Commit(tree: root, parents: [], author: sig, committer: sig, message: "\(lie)", node: node.id)
        return (try s.commit(c, head: HeadRef(repo: "r", owner: node.id), expected: nil, cause: "test"), culprit)
    }

    @Test(arguments: Lie.allCases)
    func aCommitWhoseStructureLiesIsRefused(_ lie: Lie) async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] {
            var config = SyncConfiguration(repos: [shared("r", [a, b])])
            config.pullRetryDelay = 0.05
            n.start(config)
        }
        let net = LoopbackNet([a, b])
        let (toB, toA) = await net.connect(a, b)
        await net.settle()
        let (commit, culprit) = try Self.commitLie(lie, on: a)
        // Reported: the pull fails with one line naming the object.
        let ref = HeadRef(repo: "r", owner: a.id)
        var message = ""
        do { try await b.engine.pull(repo: "r", commits: [commit], head: ref, preferring: a.id) } catch { message = "\(error)" }
        print("[pull] \(lie): \(message)")
        #expect(message.hasPrefix("protocol violation: "), "\(message)")
        #expect(message.contains(culprit.short), "\(message) should name \(culprit.short)")
        #expect(!message.contains("\n"))
        // And through gossip: the head does not move, and nothing asks again.
        try await a.engine.announceLocalHeads()
        await net.settle()
        let requests = toA.requestsSent.withLock { $0 }
        try await Task.sleep(for: .milliseconds(400))  // several retry delays (0.05 s doubling)
        #expect(try b.head(of: a) == nil)
        #expect(try b.repo.index.hasCommit(commit) == false)
        #expect(b.engine.pendingRetries == 0)
        #expect(toA.requestsSent.withLock { $0 } == requests, "a pull refused for its structure is not retried")
        let report = try b.repo.verify(roots: try b.repo.index.heads().map(\.commit), allObjects: true)
        #expect(report.ok, "\(report.problems)")
        _ = toB
    }

    @Test func anHonestMultiLevelManifestArrives() async throws {
        let a = try SyncNode(), b = try SyncNode()
        for n in [a, b] { n.start(SyncConfiguration(repos: [shared("r", [a, b])])) }
        let net = LoopbackNet([a, b])
        await net.connect(a, b)
        let s = try WriteSession(a.repo)
        let c1 = try s.put(.chunk, bytes(10, seed: 1)), c2 = try s.put(.chunk, bytes(20, seed: 2))
        let m0a = try s.putManifest([.init(id: c1, length: 10)])
        let m0b = try s.putManifest([.init(id: c2, length: 20)])
        let m1 = try s.putManifest([.init(id: m0a, length: 10), .init(id: m0b, length: 20)], level: 1)
        let m2 = try s.putManifest([.init(id: m1, length: 30)], level: 2)
        // The same manifests reached as files and as entries, at several depths.
        let sub = try s.put(.tree, try Tree(entries: [.file("a", manifest: m0a, size: 10), .file("m1", manifest: m1, size: 30)]).encoded())
        let root = try s.put(
            .tree,
            try Tree(entries: [
                .directory("d", tree: sub, size: 40), .file("big", manifest: m2, size: 30), .file("b", manifest: m0b, size: 20),
                .file("b2", manifest: m0b, size: 20)
            ])
            .encoded())
        let sig = Commit.Signature(name: "T", email: "t@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let commit = try s.commit(
            Commit(tree: root, parents: [], author: sig, committer: sig, message: "levels", node: a.id),
            head: HeadRef(repo: "r", owner: a.id), expected: nil, cause: "test")
        try await a.engine.announceLocalHeads()
        await net.settle()
        #expect(try b.head(of: a) == commit)
        #expect(try b.repo.verify(roots: [commit], allObjects: true).ok)
    }
}
