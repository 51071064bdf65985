import Foundation
import Glibc
import Testing

/// Real `ark run` daemons on loopback: a partition healed by reconciliation, a cold start of a
/// long history, and a node that no repo lists being refused.
@Suite(.serialized)
struct SyncClusterTests {
    /// Configures A, B and C as remotes of each other in `proj` (fetch = full).
    static func triangle(_ nodes: [SyncNode], withAddresses: Bool, listenHost: String? = nil) throws {
        let names = ["a", "b", "c"]
        for (i, node) in nodes.enumerated() {
            let remotes = nodes.indices.filter { $0 != i }.map {
                SyncNode.Remote(name: names[$0], node: nodes[$0], withAddress: withAddresses)
            }
            try node.configure(fetch: "full", remotes: remotes, listenHost: listenHost)
        }
    }

    /// A commit on A reaches B and C. C stops; A and C both commit while apart; C restarts.
    /// Then every node has every commit, every head (under the right name) and every chunk,
    /// and verifies. The nodes must be configured (`triangle`) and not yet running.
    static func partitionScenario(_ a: SyncNode, _ b: SyncNode, _ c: SyncNode) throws {
        let nodes = [a, b, c]
        defer { for node in nodes { node.stop() } }
        for node in nodes { try node.start() }

        let first = try a.commit("a.txt", "one\n")
        try SyncNode.converge("first commit on all three", nodes) { try nodes.allSatisfy { try $0.heads()[first] != nil } }

        #expect(c.stop() == 0, "SIGTERM should stop C cleanly")
        let second = try a.commit("a.txt", "two\n")
        let offline = try c.commit("c.txt", "written while offline\n")
        try SyncNode.converge("A's second commit on B while C is down", [a, b]) { try b.heads()[second] == ["proj@a"] }
        #expect(try a.heads()[offline] == nil)

        try c.start()
        // The heads each node must show, by the name it gives their owner.
        let expected: [(SyncNode, [String: [String]])] = [
            (a, [second: ["proj"], offline: ["proj@c"]]),
            (b, [second: ["proj@a"], offline: ["proj@c"]]),
            (c, [second: ["proj@a"], offline: ["proj"]])
        ]
        try SyncNode.converge("heads reconciled after C restarts", nodes) {
            try expected.allSatisfy { node, want in
                let heads = try node.heads()
                return heads[first] != nil && want.allSatisfy { heads[$0.key] == $0.value }
            }
        }
        try SyncNode.converge("every chunk on every node", nodes) { try nodes.allSatisfy { try $0.verify().complete } }
        for node in nodes {
            let v = try node.verify()
            #expect(v.ok && v.commits == 3, "verify on \(node.short): \(v)")
            let log = try node.ark("log")
            #expect(log.ok)
            for commit in [first, second, offline] { #expect(log.stdout.contains("commit \(commit)"), "\(node.short) log lacks \(commit)") }
        }
        #expect(try a.ark("cat", "proj@c:c.txt").stdout == "written while offline\n")
        #expect(try b.ark("cat", "proj@c:c.txt").stdout == "written while offline\n")
        #expect(try c.ark("cat", "proj@a:a.txt").stdout == "two\n")
        for node in nodes { #expect(node.stop() == 0) }
    }

    @Test func partitionHealsByReconciliation() throws {
        let a = try SyncNode(), b = try SyncNode(), c = try SyncNode()
        try Self.triangle([a, b, c], withAddresses: true)
        let took = try SyncNode.timed { try Self.partitionScenario(a, b, c) }
        print("[sync] partition scenario on loopback: \(String(format: "%.2f", took)) s")
    }

    @Test func coldStartReceivesTwoThousandCommits() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        let git = try ImportTests.syntheticRepository(a.dir.file("git"), commits: 2000)
        let imported = try SyncNode.timed {
            let r = try a.ark("import", git.path, "--repo", "proj")
            try #require(r.ok, "import: \(r.stderr)")
        }
        print("[sync] import of 2,000 commits on A: \(String(format: "%.2f", imported)) s")
        #expect(try a.logJSON().count == 2000)
        defer { a.stop(); b.stop() }
        try a.start()
        try b.start()
        try SyncNode.converge("B has 2,000 commits", [a, b], within: 45) { try b.logJSON().count == 2000 }
        try SyncNode.converge("B has every chunk", [a, b]) { try b.verify().complete }
        let v = try b.verify()
        #expect(v.ok && v.commits == 2000, "\(v)")
        #expect(try b.logJSON("proj/main@a").count == 2000)
        // The data came too: A's tip exports from B alone and matches git.
        #expect(a.stop() == 0)
        let e = try b.ark("export", "proj/main@a", b.dir.file("out"))
        #expect(e.ok, "\(e.stderr)")
        try git.archive("main", to: b.dir.file("git-out"))
        #expect(try DirectoryListing.differences(b.dir.file("out"), b.dir.file("git-out")) == [])
    }

    @Test func nodeThatNoRepoListsIsRefused() async throws {
        let a = try SyncNode(), b = try SyncNode(), stranger = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        // The stranger knows A's id and address and claims to share `proj` with it.
        try stranger.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        let secret = try a.commit("secret.txt", "members only\n")
        defer { a.stop(); b.stop(); stranger.stop() }
        // At the default log level (warning), both sides say so.
        try a.start(logLevel: "warning")
        try stranger.start(logLevel: "warning")
        let refusal = "refused connection from unauthorized node \(stranger.id) at 127.0.0.1:"
        try SyncNode.converge("A refuses the stranger", [a, stranger]) { a.log.contains(refusal) }
        // The stranger's status says why it is not connected, not just "offline".
        try SyncNode.converge("the stranger's status shows A as refused", [a, stranger]) {
            StatusTests.peers(try StatusTests.status(stranger)).first?["state"] as? String == "refused"
        }
        let peer = try #require(StatusTests.peers(try StatusTests.status(stranger)).first)
        #expect(peer["connected"] as? Bool == false)
        #expect((peer["refusal"] as? String)?.contains("is not authorized") == true, "\(peer)")
        #expect(try stranger.ark("status").stdout.contains("refused (we are not in its remotes)"))
        #expect(StatusTests.peers(try StatusTests.status(a)).allSatisfy { $0["state"] as? String != "refused" })
        // The stranger keeps retrying (1 s, 2 s, 4 s...); each side logs it once.
        try await Task.sleep(for: .seconds(4))
        #expect(a.log.components(separatedBy: refusal).count - 1 == 1, "A should log the refusal once:\n\(a.log)")
        #expect(
            stranger.log.components(separatedBy: "(we are not in its remotes)").count - 1 == 1,
            "the stranger should log the refusal once:\n\(stranger.log)")
        // A member started after the stranger still syncs, so A is serving the repo.
        try b.start()
        try SyncNode.converge("B (a member) gets the commit", [a, b]) { try b.heads()[secret] != nil }
        #expect(stranger.isRunning)
        #expect(
            stranger.log.contains("connection to \(a.short) at 127.0.0.1:\(a.port) refused: node \(stranger.short) is not authorized"),
            "the stranger's log should say A refused it:\n\(stranger.log.suffix(2000))")
        #expect(try stranger.logJSON().isEmpty)
        #expect(!(try stranger.ark("show", secret).ok))
        #expect(try stranger.verify().commits == 0)
    }
}
