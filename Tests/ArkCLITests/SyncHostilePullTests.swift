import Foundation
import Glibc
import Testing

/// Pulls and announcements under misbehaving members, with real `ark run` daemons on loopback
/// and `ark-hostile` as the member: a flood of announcements nobody can serve must not delay
/// an honest commit, a writer cannot create heads beyond `[sync] max_heads_per_writer`, and a
/// node whose index was lost or restored from an older copy is still heard by its peers.
@Suite(.serialized)
struct SyncHostilePullTests {
    /// Starts `ark-hostile attack` as member `m` against `victim`; waits until it sent its announcements.
    func attack(_ name: String, _ args: [String], as m: SyncNode, victim: SyncNode) throws -> Process {
        let log = m.dir.file("hostile.log")
        let p = try HostilePeer.start(
            name,
            [
                "--target", "127.0.0.1:\(victim.port)", "--victim", victim.id,
                "--key-store", m.dir.file("data")
            ] + args, cwd: m.dir.path, log: log)
        let sent = SyncNode.eventually(15) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("sent ") }
        if !sent { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() }
        try #require(sent, "ark-hostile \(name) did not send: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        return p
    }

    /// The JSON report `ark-hostile` printed last.
    func report(_ m: SyncNode) -> String {
        ((try? String(contentsOfFile: m.dir.file("hostile.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "(no report)"
    }

    func reportJSON(_ m: SyncNode) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(report(m).utf8))) as? [String: Any] ?? [:]
    }

    func cat(_ node: SyncNode, _ rev: String) throws -> String {
        let r = try node.ark("cat", rev)
        return r.ok ? r.stdout : ""
    }

    @Test func honestCommitArrivesWithinTwoSecondsDespiteABogusAnnouncementFlood() throws {
        let v = try SyncNode(), h = try SyncNode(), m = try SyncNode()
        try v.configure(fetch: "full", remotes: [.init(name: "h", node: h), .init(name: "m", node: m, withAddress: false)])
        try h.configure(fetch: "full", remotes: [.init(name: "v", node: v)])
        try v.start()
        try h.start()
        defer { v.stop(); h.stop() }
        _ = try h.commit("f.txt", "zero\n")
        let baseline = try SyncNode.converge("honest commit H -> V, no attack", [v, h], within: 20) {
            try cat(v, "proj@h:f.txt") == "zero\n"
        }

        let count = 50
        let p = try attack("bogus-announce", ["--count", "\(count)", "--names", "10", "--seconds", "8"], as: m, victim: v)
        defer { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() }
        // Let the victim accept them and start pulls that only run into deadlines.
        usleep(1_000_000)
        let start = Date()
        _ = try h.commit("f.txt", "one\n")
        let arrived = SyncNode.eventually(30) { (try? cat(v, "proj@h:f.txt")) == "one\n" }
        let latency = Date().timeIntervalSince(start)
        print(
            "[hostile] honest commit H -> V: \(String(format: "%.2f", baseline)) s without attack, \(String(format: "%.2f", latency)) s under \(count) bogus announcements from a member that never answers"
        )
        #expect(arrived)
        #expect(latency < 2, "honest commit took \(latency) s under the flood\n\(v.log.suffix(3000))")
        #expect(v.isRunning)
        p.waitUntilExit()
        print("[hostile] bogus-announce: \(report(m))")
        // The victim did try the member: its requests were left unanswered, not avoided.
        #expect(reportJSON(m)["requests_stalled"] as? Int ?? 0 > 0)
    }

    @Test func aWriterKeepsNoMoreHeadsThanTheLimit() throws {
        let v = try SyncNode(), m = try SyncNode()
        let limit = 5, count = 20
        try v.configure(fetch: "full", remotes: [.init(name: "m", node: m, withAddress: false)], sync: "max_heads_per_writer = \(limit)")
        try v.start()
        defer { v.stop() }
        #expect(SyncNode.eventually(10) { FileManager.default.fileExists(atPath: v.dir.file("data/listen_addr")) })
        func headsOfM() throws -> Int { try statusHeads(v, of: m).count }
        let p = try attack("many-heads", ["--count", "\(count)", "--seconds", "4"], as: m, victim: v)
        try SyncNode.converge("\(limit) heads of the member", [v]) { try headsOfM() == limit }
        p.waitUntilExit()
        let kept = try headsOfM()
        let refusals = v.log.components(separatedBy: "refusing new heads of writer").count - 1
        print(
            "[hostile] many-heads: member announced \(count) heads, victim kept \(kept) (limit \(limit)); \(refusals) log line(s); \(report(m))"
        )
        #expect(kept == limit)
        #expect(refusals == 1)
        #expect(v.isRunning)
        // A limit out of range is the usual one-line configuration error.
        try v.dir.write("bad.toml", "[sync]\nmax_heads_per_writer = 0\n")
        let bad = try v.ark("status", "--config", "bad.toml")
        #expect(bad.status == 2 && bad.stderr.hasPrefix("ark: ") && bad.stderr.contains("max_heads_per_writer"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1)
    }

    /// `ark status --json` on `node`: the heads owned by `owner`.
    func statusHeads(_ node: SyncNode, of owner: SyncNode) throws -> [[String: Any]] {
        let r = try node.ark("status", "--json")
        let json = (try? JSONSerialization.jsonObject(with: r.stdoutData)) as? [String: Any] ?? [:]
        let repos = json["repos"] as? [[String: Any]] ?? []
        return repos.flatMap { $0["heads"] as? [[String: Any]] ?? [] }.filter { $0["owner"] as? String == owner.id }
    }

    @Test func statusWalksABoundedNumberOfTrees() throws {
        let v = try SyncNode(), m = try SyncNode()
        let count = 80, bound = 64
        try v.configure(fetch: "full", remotes: [.init(name: "m", node: m, withAddress: false)])
        try v.start()
        defer { v.stop() }
        #expect(SyncNode.eventually(10) { FileManager.default.fileExists(atPath: v.dir.file("data/listen_addr")) })
        let p = try attack("many-heads", ["--count", "\(count)", "--seconds", "3"], as: m, victim: v)
        try SyncNode.converge("\(count) heads of the member, each its own tree", [v]) { try statusHeads(v, of: m).count == count }
        p.waitUntilExit()
        var heads: [[String: Any]] = []
        let took = try SyncNode.timed { heads = try statusHeads(v, of: m) }
        let walked = heads.filter { $0["chunks_total"] is Int }.count
        let skipped = heads.filter { $0["chunks_total"] is NSNull }.count
        print(
            "[hostile] ark status with \(count) peer heads of distinct trees: \(walked) walked, \(skipped) reported without presence, \(String(format: "%.2f", took)) s"
        )
        #expect(walked == bound)
        #expect(skipped == count - bound)
        #expect(try v.ark("status").ok)
    }

    @Test func aNodeWhoseIndexWasRestoredOrLostIsHeardAgain() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        try a.start()
        try b.start()
        defer { a.stop(); b.stop() }
        let index = a.dir.file("data/index.sqlite")
        func moveIndex(to dir: String?) throws {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: index + suffix) {
                if let dir { try FileManager.default.copyItem(atPath: index + suffix, toPath: dir + "/index.sqlite" + suffix) }
                try FileManager.default.removeItem(atPath: index + suffix)
            }
        }

        _ = try a.commit("f.txt", "one\n")
        try SyncNode.converge("first commit A -> B", [a, b]) { try cat(b, "proj@a:f.txt") == "one\n" }
        // An older copy of A's index: taken now, put back after A announced again.
        a.stop()
        let backup = a.dir.file("index-backup")
        try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: index + suffix) {
            try FileManager.default.copyItem(atPath: index + suffix, toPath: backup + "/index.sqlite" + suffix)
        }
        try a.start()
        _ = try a.commit("f.txt", "two\n")
        try SyncNode.converge("second commit A -> B", [a, b]) { try cat(b, "proj@a:f.txt") == "two\n" }

        a.stop()
        try moveIndex(to: nil)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: backup + "/index.sqlite" + suffix) {
            try FileManager.default.copyItem(atPath: backup + "/index.sqlite" + suffix, toPath: index + suffix)
        }
        try a.start()
        _ = try a.commit("f.txt", "three\n")
        try SyncNode.converge("commit after restoring an older index A -> B", [a, b]) { try cat(b, "proj@a:f.txt") == "three\n" }
        #expect(!b.log.contains("equivocated"), "\(b.log.suffix(2000))")
        // A learned from B the number B last saw from it, and announced above it.
        #expect(a.log.components(separatedBy: "announcing above it").count - 1 == 1, "\(a.log.suffix(2000))")

        a.stop()
        try moveIndex(to: nil)
        // A new, empty index must not write over the state the lost one left (state.json): a
        // head moved now would hide the lost heads from repair, and gc would collect them.
        try a.dir.write("src/f.txt", "four\n")
        let refused = try a.ark("commit", "src", "--repo", "proj", "-m", "before repair")
        #expect(!refused.ok && refused.stderr.contains("run 'ark repair index'"), "\(refused.stderr)")
        let repaired = try a.ark("repair", "index")
        try #require(repaired.ok, "\(repaired.stderr)")
        try a.start()
        _ = try a.commit("f.txt", "four\n")
        try SyncNode.converge("commit after losing and repairing the index A -> B", [a, b]) { try cat(b, "proj@a:f.txt") == "four\n" }
        #expect(!b.log.contains("equivocated"), "\(b.log.suffix(2000))")
        // Repair moved A's own sequence numbers past the state record's by a margin: B takes
        // the announcement at once, without A first learning what B last saw.
        #expect(a.log.components(separatedBy: "announcing above it").count - 1 == 1, "\(a.log.suffix(2000))")
        #expect(try a.verify().ok)
        #expect(try b.verify().ok)
    }
}
