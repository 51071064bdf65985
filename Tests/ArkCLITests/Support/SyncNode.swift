import Foundation
import Glibc
import Testing

/// One node of a sync test: a directory with its own `ark.toml` and store (`./data`), and its
/// daemon (`ark run`) as a real process, optionally inside a network namespace. The daemon's
/// stdout and stderr go to `daemon.log` in the node's directory.
final class SyncNode: @unchecked Sendable {  // `daemon` is only touched by the test that owns the node
    struct Remote {
        var name: String
        var node: SyncNode
        /// false: give only the node id, so the daemon must find the remote by LAN discovery.
        var withAddress = true
    }

    let dir = TempDir("ark-node")
    let id: String
    let port: Int
    /// The address peers dial; the daemon listens on it unless `configure(listenHost:)` says otherwise.
    let host: String
    /// `ip netns` namespace the daemon runs in, if any.
    let namespace: String?
    private var daemon: Process?

    init(port: Int = SyncNode.freePort(), host: String = "127.0.0.1", namespace: String? = nil) throws {
        self.port = port
        self.host = host
        self.namespace = namespace
        let r = try ArkProcess.run(["id"], cwd: dir.path)
        try #require(r.ok, "ark id: \(r.stderr)")
        id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { _ = stop() }

    var short: String { String(id.prefix(12)) }
    var logFile: String { dir.file("daemon.log") }
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { daemon?.isRunning ?? false }
    /// The daemon's process id while it runs.
    var pid: Int32? { daemon.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// Writes ark.toml: one repo `repo` with these remotes; listens on `listenHost` (default: `host`).
    /// LAN discovery is on only inside a network namespace the test created, never on the host's LAN.
    /// `sync`: lines of a `[sync]` table, if any.
    func configure(repo: String = "proj", fetch: String, remotes: [Remote], listenHost: String? = nil, sync: String? = nil) throws {
        let list = remotes.map { r in
            let addrs = r.withAddress ? ", addrs = [\"\(r.node.host):\(r.node.port)\"]" : ""
            return "{ name = \"\(r.name)\", node_id = \"\(r.node.id)\"\(addrs) }"
        }
        try dir.write(
            "ark.toml",
            """
            [net]
            listen = "\(listenHost ?? host):\(port)"
            discovery = \(namespace != nil)
            \(sync.map { "\n[sync]\n\($0)\n" } ?? "")
            [[repos]]
            id = "\(repo)"
            fetch = "\(fetch)"
            remotes = [ \(list.joined(separator: ", ")) ]
            """)
    }

    @discardableResult
    func ark(_ args: String...) throws -> ArkProcess.Result { try ArkProcess.run(args, cwd: dir.path) }

    /// Writes `src/<file>` and commits `src` to `repo`; returns the commit id.
    func commit(_ file: String, _ contents: String, repo: String = "proj", message: String? = nil) throws -> String {
        try dir.write("src/" + file, contents)
        let r = try ark("commit", "src", "--repo", repo, "-m", message ?? "\(file) on \(short)")
        try #require(r.ok, "ark commit on \(short): \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `ark log --json` (all heads): the commits, or [] when the command fails.
    func logJSON(_ args: String...) throws -> [[String: Any]] {
        let r = try ArkProcess.run(["log", "--json"] + args, cwd: dir.path)
        guard r.ok else { return [] }
        return (try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]]) ?? []
    }

    /// Commit ids in `ark log --json`, and the head labels each carries.
    func heads() throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for c in try logJSON() { out[c["id"] as? String ?? ""] = c["heads"] as? [String] ?? [] }
        return out
    }

    /// Starts `ark run` (inside `namespace` if set, with `env` added to the environment),
    /// appending its output to `daemon.log`.
    func start(logLevel: String = "info", env: [String: String] = [:]) throws {
        precondition(daemon == nil, "daemon of \(short) already started")
        if !FileManager.default.fileExists(atPath: logFile) { _ = FileManager.default.createFile(atPath: logFile, contents: nil) }
        let out = try #require(FileHandle(forWritingAtPath: logFile))
        out.seekToEndOfFile()
        let p = Process()
        if let namespace {
            p.executableURL = URL(fileURLWithPath: try ExternalTool.require("ip"))
            p.arguments = ["netns", "exec", namespace, ArkProcess.binary, "run"]
        } else {
            p.executableURL = URL(fileURLWithPath: ArkProcess.binary)
            p.arguments = ["run"]
        }
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        environment["ARK_LOG"] = logLevel
        p.environment = environment
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = out
        try p.run()
        try out.close()
        daemon = p
    }

    /// Stops the daemon with SIGTERM; returns its exit status (nil if it was not running).
    @discardableResult
    func stop() -> Int32? {
        guard let p = daemon else { return nil }
        daemon = nil
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A TCP port that was free a moment ago (bound to port 0, then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        return ok ? Int(UInt16(bigEndian: addr.sin_port)) : Int.random(in: 20_000...40_000)
    }

    /// Waits up to `seconds` for `condition`, checking every 100 ms.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    /// Seconds `body` took.
    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }
}

extension SyncNode {
    struct Verification {
        var ok: Bool
        var commits: Int
        var absentChunks: Int
        var trees = -1
        var manifests = -1
        var chunks = -1
        /// Sound, and every chunk stored (what a `fetch = full` node reaches once replicated).
        var complete: Bool { ok && absentChunks == 0 }
    }

    /// `ark verify --json` (every head and every stored object).
    func verify() throws -> Verification {
        let r = try ArkProcess.run(["verify", "--json"], cwd: dir.path)
        let json = (try? JSONSerialization.jsonObject(with: r.stdoutData)) as? [String: Any] ?? [:]
        return Verification(
            ok: r.ok && json["ok"] as? Bool == true, commits: json["commits"] as? Int ?? -1,
            absentChunks: json["absent_chunks"] as? Int ?? -1, trees: json["trees"] as? Int ?? -1,
            manifests: json["manifests"] as? Int ?? -1, chunks: json["chunks"] as? Int ?? -1)
    }

    /// Waits up to `seconds` for `condition` and prints how long it took; when it never holds,
    /// fails the test (with the tail of the daemons' logs) instead of waiting on.
    @discardableResult
    static func converge(
        _ what: String, _ nodes: [SyncNode], within seconds: Double = 30,
        _ condition: () throws -> Bool
    ) throws -> Double {
        let start = Date()
        let ok = try eventually(seconds, condition)
        let took = Date().timeIntervalSince(start)
        print("[sync] \(what): \(String(format: "%.2f", took)) s\(ok ? "" : " (timed out)")")
        let logs = ok ? "" : nodes.map { "--- \($0.short) daemon.log ---\n\($0.log.suffix(3000))" }.joined(separator: "\n")
        try #require(ok, "\(what): not within \(seconds) s\n\(logs)")
        return took
    }
}
