import Foundation
import Glibc
import Testing

/// `ark status` through the built binary: from the index alone, then merged with the live state
/// real daemons on loopback publish on `<store>/daemon.sock`. Nodes come from SyncProcessTests.
@Suite(.serialized)
struct StatusTests {

    /// `ark status --json` of `node`, parsed.
    static func status(_ node: SyncNode) throws -> [String: Any] {
        let r = try node.ark("status", "--json")
        try #require(r.ok, "ark status --json exited \(r.status): \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "not a JSON object: \(r.stdout)")
    }

    static func peers(_ s: [String: Any]) -> [[String: Any]] { s["peers"] as? [[String: Any]] ?? [] }
    static func daemon(_ s: [String: Any]) -> [String: Any] { s["daemon"] as? [String: Any] ?? [:] }

    static func head(_ s: [String: Any], repo: String, ref: String) -> [String: Any]? {
        let repos = s["repos"] as? [[String: Any]] ?? []
        let heads = repos.first { $0["id"] as? String == repo }?["heads"] as? [[String: Any]] ?? []
        return heads.first { $0["ref"] as? String == ref }
    }

    static func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? -1 }

    @Test func withoutADaemonTheIndexIsShown() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try a.dir.write("src/file.txt", "hello\n")
        try a.dir.write("src/copy.txt", "hello\n")  // the same chunk twice counts once
        try a.ark("commit", "src", "--repo", "proj", "-m", "first")

        let human = try a.ark("status")
        #expect(human.ok, "\(human.stderr)")
        #expect(human.stdout.contains("daemon  not running"))
        #expect(human.stdout.contains("repo proj (full)"))
        #expect(human.stdout.contains("100%"))

        let s = try Self.status(a)
        #expect(s["node"] as? String == a.id)
        #expect(Self.daemon(s)["running"] as? Bool == false)
        #expect(Self.daemon(s)["pid"] is NSNull)
        let peer = try #require(Self.peers(s).first)
        #expect(peer["name"] as? String == "b" && peer["node"] as? String == b.id)
        #expect(peer["connected"] as? Bool == false)
        #expect(peer["addrs"] as? [String] == ["127.0.0.1:\(b.port)"])
        for key in ["address", "connected_since", "last_seen", "bytes_in", "bytes_out"] { #expect(peer[key] != nil, "peer lacks \(key)") }
        let head = try #require(Self.head(s, repo: "proj", ref: "proj"))
        #expect(head["own"] as? Bool == true && Self.int(head["generation"]) == 1)
        #expect(Self.int(head["chunks_total"]) == 1 && Self.int(head["bytes_total"]) == 6)
        #expect(Self.int(head["bytes_present"]) == 6)
        let repo = try #require((s["repos"] as? [[String: Any]])?.first)
        #expect(repo["replication"] is NSNull)

        // The documented shape (README, "Status"): every key present, null when unknown.
        #expect(Set(s.keys) == ["node", "store", "cache", "daemon", "peers", "repos"])
        #expect(Set((s["cache"] as? [String: Any] ?? [:]).keys) == ["chunks", "bytes", "limit"])
        #expect(Set(Self.daemon(s).keys) == ["running", "pid", "command", "listen", "started", "error"])
        #expect(
            Set(peer.keys) == [
                "name", "node", "addrs", "address", "connected", "state", "refusal", "connected_since", "last_seen",
                "bytes_in", "bytes_out"
            ])
        #expect(peer["state"] is NSNull && peer["refusal"] is NSNull, "without a daemon the state is unknown")
        #expect(Set(repo.keys) == ["id", "fetch", "heads", "replication"])
        #expect(
            Set(head.keys) == [
                "ref", "name", "owner", "owner_name", "own", "commit", "generation", "time", "updated",
                "chunks_total", "chunks_present", "bytes_total", "bytes_present"
            ])

        // A bad configuration is the usual one-line error.
        let bad = try a.ark("status", "--config", "missing.toml")
        #expect(bad.status == 2 && bad.stderr.hasPrefix("ark: ") && bad.stderr.split(separator: "\n").count == 1)
    }

    @Test func twoConnectedDaemons() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        try a.dir.write("src/a.bin", Data((0..<700_000).map { _ in UInt8.random(in: 0...255) }))
        try b.dir.write("src/b.txt", "from b\n")
        try a.ark("commit", "src", "--repo", "proj", "-m", "on a")
        try b.ark("commit", "src", "--repo", "proj", "-m", "on b")
        // A stale socket (a daemon that was killed) is replaced.
        try Self.leaveStaleSocket(a.dir.file("data/daemon.sock"))

        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        defer { for p in [pa, pb] where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }

        var s: [String: Any] = [:]
        let synced = try SyncNode.eventually(20) {
            s = try Self.status(a)
            let peer = Self.peers(s).first
            return peer?["connected"] as? Bool == true && peer?["state"] as? String == "connected"
                && Self.head(s, repo: "proj", ref: "proj@b") != nil
        }
        #expect(synced, "A's status: \(s)")
        #expect(Self.daemon(s)["running"] as? Bool == true)
        #expect(Self.int(Self.daemon(s)["pid"]) == Int(pa.processIdentifier))
        let peer = try #require(Self.peers(s).first)
        #expect(peer["name"] as? String == "b")
        #expect(Self.int(peer["bytes_in"]) > 0 && Self.int(peer["bytes_out"]) > 0)
        #expect((peer["address"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(peer["connected_since"] is String && peer["last_seen"] is String)
        let remote = try #require(Self.head(s, repo: "proj", ref: "proj@b"))
        #expect(remote["own"] as? Bool == false && remote["owner_name"] as? String == "b" && remote["owner"] as? String == b.id)
        #expect(Self.int(remote["bytes_total"]) == 7)

        var mode = stat()
        #expect(stat(a.dir.file("data/daemon.sock"), &mode) == 0 && mode.st_mode & 0o777 == 0o600)

        // B replicates A's chunks in the background (full) and reports it.
        var sb: [String: Any] = [:]
        let replicated = try SyncNode.eventually(20) {
            sb = try Self.status(b)
            let rep = (sb["repos"] as? [[String: Any]])?.first?["replication"] as? [String: Any]
            let head = Self.head(sb, repo: "proj", ref: "proj@a")
            return Self.int(rep?["chunks_queued"]) > 0 && Self.int(rep?["chunks_pending"]) == 0
                && head != nil && Self.int(head?["bytes_present"]) == 700_000
        }
        #expect(replicated, "B's status: \(sb)")

        let human = try a.ark("status")
        #expect(human.stdout.contains("connected") && human.stdout.contains("proj@b"), "\(human.stdout)")

        // A second daemon on the same store leaves the first one's socket alone (it announces
        // its ephemeral port in listen_addr just before it would publish its status).
        let listenFile = a.dir.file("data/listen_addr")
        let firstAddress = try String(contentsOfFile: listenFile, encoding: .utf8)
        let second = try ArkProcess.start(["run"], cwd: a.dir.path)
        #expect(SyncNode.eventually(10) { (try? String(contentsOfFile: listenFile, encoding: .utf8)) ?? firstAddress != firstAddress })
        usleep(500_000)
        #expect(Self.int(Self.daemon(try Self.status(a))["pid"]) == Int(pa.processIdentifier))
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        #expect(Self.int(Self.daemon(try Self.status(a))["pid"]) == Int(pa.processIdentifier))

        // Stopped: the socket is gone and the status says so.
        kill(pa.processIdentifier, SIGTERM)
        pa.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: a.dir.file("data/daemon.sock")))
        #expect(try a.ark("status").stdout.contains("daemon  not running"))
    }

    @Test func lazyHeadFillsUpWithPrefetch() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "a-peer", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        try a.dir.write("src/one.bin", Data((0..<1_200_000).map { _ in UInt8.random(in: 0...255) }))
        try a.ark("commit", "src", "--repo", "proj", "-m", "data")
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        defer { kill(pa.processIdentifier, SIGTERM); pa.waitUntilExit() }
        let pb = try ArkProcess.start(["run"], cwd: b.dir.path)
        #expect(try SyncNode.eventually(20) { Self.head(try Self.status(b), repo: "proj", ref: "proj@a") != nil })
        kill(pb.processIdentifier, SIGTERM)
        pb.waitUntilExit()

        let before = try #require(Self.head(try Self.status(b), repo: "proj", ref: "proj@a"))
        #expect(Self.int(before["bytes_total"]) == 1_200_000)
        #expect(Self.int(before["bytes_present"]) < Self.int(before["bytes_total"]))
        #expect(Self.int(before["chunks_present"]) < Self.int(before["chunks_total"]))
        #expect(try b.ark("status").stdout.contains("repo proj (lazy)"))

        let fetched = try b.ark("prefetch", "proj@a")
        try #require(fetched.ok, "\(fetched.stderr)")
        let after = try #require(Self.head(try Self.status(b), repo: "proj", ref: "proj@a"))
        #expect(Self.int(after["bytes_present"]) == 1_200_000)
        #expect(Self.int(after["chunks_present"]) == Self.int(after["chunks_total"]))
    }

    /// A unix socket file nobody listens on, as a killed daemon leaves behind.
    static func leaveStaleSocket(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(r == 0, "bind \(path): \(errno)")
    }
}
