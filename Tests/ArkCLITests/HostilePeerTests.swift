import Foundation
import Glibc
import Testing

/// Real `ark run` daemons on loopback against `ark-hostile`: the bound each defense promises
/// is asserted, and the figure printed. Long waits sleep asynchronously so they do not hold a
/// thread of the test process's cooperative pool (other suites' async tests run on it).
@Suite(.serialized)
struct HostilePeerTests {
    /// Waits until `node`'s daemon listens (it writes listen_addr once bound).
    static func waitListening(_ node: SyncNode) throws {
        try SyncNode.converge("\(node.short) listens", [node], within: 15) {
            FileManager.default.fileExists(atPath: node.dir.file("data/listen_addr"))
        }
    }

    /// Waits for `process` to exit without blocking a thread.
    static func waitForExit(_ process: Process) async throws {
        while process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        process.waitUntilExit()
    }

    /// 2,000 idle connections without a key (Slowloris) against A: B, which A lists, still
    /// connects and receives A's commit within 2 s, A stays near idle and logs a few lines.
    @Test func listedPeerGetsInPastTwoThousandIdleConnections() async throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        let commit = try a.commit("a.txt", "through the flood\n")
        defer { a.stop(); b.stop() }
        try a.start(logLevel: "warning")
        try Self.waitListening(a)
        let victim = ProcessStats(pid: try #require(a.pid))

        // The window starts before the flood, so accepting and closing its connections counts.
        let cpuStart = try victim.cpuSeconds(), windowStart = Date()
        let linesStart = a.log.split(separator: "\n").count
        let report = a.dir.file("flood.json")
        let flood = try HostilePeer.start(
            "idle-connections", ["--target", "127.0.0.1:\(a.port)", "--count", "2000", "--seconds", "12"],
            cwd: a.dir.path, log: report)
        defer {
            if flood.isRunning { kill(flood.processIdentifier, SIGTERM) }
            flood.waitUntilExit()
        }
        try SyncNode.converge("A closes the oldest pending handshakes of the flood", [a], within: 10) {
            a.log.contains("handshake flood")
        }
        try await Task.sleep(for: .milliseconds(500))  // the rest of the 2,000 connections arrive

        try b.start(logLevel: "warning")
        let took = try SyncNode.converge("B connects and receives A's commit through the flood", [a, b], within: 15) {
            try b.heads()[commit] != nil
        }
        #expect(took < 2, "B took \(took) s to receive the commit under the flood")
        var statusOK = false
        let statusTook = try SyncNode.timed { statusOK = try a.ark("status").ok }
        #expect(statusOK)
        print("[hostile] ark status on A under the flood: \(String(format: "%.2f", statusTook)) s")
        #expect(statusTook < 2)

        // Measure the daemon over an 8 s window of the attack.
        let rest = 8 - Date().timeIntervalSince(windowStart)
        if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
        let window = Date().timeIntervalSince(windowStart)
        let cpu = (try victim.cpuSeconds() - cpuStart) / window
        let lines = a.log.split(separator: "\n").count - linesStart
        print(
            "[hostile] A under 2,000 idle connections: \(String(format: "%.1f", cpu * 100))% of a core over \(String(format: "%.1f", window)) s, \(lines) log lines, \(victim.openFiles()) open files"
        )
        #expect(cpu < 0.15, "A used \(cpu * 100)% of a core")
        #expect(lines < 20, "A logged \(lines) lines:\n\(a.log.suffix(3000))")

        try await Self.waitForExit(flood)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any] ?? [:]
        print("[hostile] idle-connections: \(json)")
        #expect(json["opened"] as? Int == 2000, "the flood should open its 2,000 connections: \(json)")
        #expect(a.isRunning && b.isRunning)
    }

    /// A member opens 4 connections that never grant credit and sends 256 getObjects requests
    /// on each for A's largest objects: A builds a budget's worth of responses, not 8 GiB, and
    /// its peak RSS stays under 300 MB.
    @Test func creditStarvationKeepsTheDaemonUnder300MB() async throws {
        let a = try SyncNode(), attacker = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "x", node: attacker, withAddress: false)])
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 24 << 20)
        try a.dir.write("src/big.bin", random)
        let c = try a.ark("commit", "src", "--repo", "proj", "-m", "24 MiB of random bytes")
        try #require(c.ok, "commit: \(c.stderr)")
        defer { a.stop() }
        try a.start(logLevel: "warning")
        try Self.waitListening(a)
        let victim = ProcessStats(pid: try #require(a.pid))
        let rssBefore = try victim.status("VmRSS")

        let log = attacker.dir.file("credit-starve.json")
        let attack = try HostilePeer.start(
            "credit-starve",
            [
                "--target", "127.0.0.1:\(a.port)", "--victim", a.id,
                "--key-store", attacker.dir.file("data"),
                "--connections", "4", "--streams", "256", "--seconds", "8"
            ],
            cwd: attacker.dir.path, log: log)
        try await Self.waitForExit(attack)
        let output = try String(contentsOfFile: log, encoding: .utf8)
        try #require(attack.terminationStatus == 0, "ark-hostile credit-starve failed: \(output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let peak = try victim.status("VmHWM")
        print("[hostile] credit-starve: \(report)")
        print("[hostile] A's RSS before \(rssBefore >> 20) MiB, peak \(peak >> 20) MiB under 4 x 256 starved getObjects streams")
        #expect(report["connections"] as? Int == 4, "\(report)")
        #expect((report["chunks"] as? Int ?? 0) >= 32, "the requests should ask for full 8 MiB responses: \(report)")
        #expect(peak < 300 << 20, "A peaked at \(peak >> 20) MiB")
        #expect(a.isRunning)
    }
}
