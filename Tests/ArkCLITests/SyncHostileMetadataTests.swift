import Foundation
import Glibc
import Testing

/// A member serving metadata near the object limit, with a real `ark run` daemon pulling it
/// from `ark-hostile`: the pull keeps one response of trees in memory at a time, not a page.
@Suite(.serialized)
struct SyncHostileMetadataTests {
    /// 32 trees of 16 MiB (512 MiB in one level of the walk, one page of ids): the daemon
    /// stores them all and its RSS grows by less than two thirds of the page. When a page was
    /// held until it was stored, the daemon grew by more than the page.
    @Test func largeTreesDoNotGrowThePullingDaemon() async throws {
        let v = try SyncNode(), m = try SyncNode()
        let count = 32, mib = 16
        try v.configure(fetch: "full", remotes: [.init(name: "m", node: m, withAddress: false)])
        try v.start(logLevel: "debug")
        defer { v.stop() }
        try SyncNode.converge("the victim listens", [v], within: 15) {
            FileManager.default.fileExists(atPath: v.dir.file("data/listen_addr"))
        }
        let victim = ProcessStats(pid: try #require(v.pid))
        let before = try victim.status("VmHWM")

        let log = m.dir.file("hostile.log")
        let p = try HostilePeer.start(
            "large-trees",
            [
                "--target", "127.0.0.1:\(v.port)", "--victim", v.id, "--key-store", m.dir.file("data"),
                "--count", "\(count)", "--tree-mib", "\(mib)", "--seconds", "240"
            ], cwd: m.dir.path, log: log)
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGTERM) }
            p.waitUntilExit()
        }
        let took = try SyncNode.converge("the member's commit of \(count) trees of \(mib) MiB", [v], within: 240) {
            v.log.contains("pulled 1 commits of proj, head")
        }
        let peak = try victim.status("VmHWM")
        while p.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let report = output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "(no report)"
        let json = (try? JSONSerialization.jsonObject(with: Data(report.utf8))) as? [String: Any] ?? [:]
        let walked = v.log.split(separator: "\n").first { $0.contains("trees and manifests") }.map(String.init) ?? ""
        print(
            "[hostile] large-trees: \(count) trees of \(mib) MiB pulled in \(String(format: "%.1f", took)) s; victim peak RSS \(before >> 20) MiB before, \(peak >> 20) MiB after; \(walked)"
        )
        print("[hostile] large-trees: \(report)")
        #expect(json["objects_served"] as? Int ?? 0 >= count + 2, "\(output)")
        let page = UInt64(count * mib) << 20
        #expect(
            peak - before < page * 2 / 3,
            "the pulling daemon grew from \(before >> 20) to \(peak >> 20) MiB for a page of \(page >> 20) MiB")
        #expect(v.isRunning)
    }

    /// A member announces a commit whose manifests hash right but lie about their levels: the
    /// daemon refuses the pull with one line naming the manifest, its head for the member does
    /// not move, no retry hammers the member (not even when it sends the announcement again and
    /// again), and `ark verify` passes.
    @Test func aCommitWhoseStructureLiesIsRefused() async throws {
        let v = try SyncNode(), m = try SyncNode()
        try v.configure(fetch: "full", remotes: [.init(name: "m", node: m, withAddress: false)])
        try v.start()
        defer { v.stop() }
        try SyncNode.converge("the victim listens", [v], within: 15) {
            FileManager.default.fileExists(atPath: v.dir.file("data/listen_addr"))
        }
        let log = m.dir.file("hostile.log")
        let p = try HostilePeer.start(
            "lying-structure",
            ["--target", "127.0.0.1:\(v.port)", "--victim", v.id, "--key-store", m.dir.file("data"), "--seconds", "4", "--repeat", "10"],
            cwd: m.dir.path, log: log)
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGTERM) }
            p.waitUntilExit()
        }
        try SyncNode.converge("the victim refuses the commit", [v], within: 20) { v.log.contains("protocol violation: manifest") }
        while p.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let report = output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "(no report)"
        let json = (try? JSONSerialization.jsonObject(with: Data(report.utf8))) as? [String: Any] ?? [:]
        let culprit = String((json["culprit"] as? String ?? "?").prefix(12))
        let lines = v.log.split(separator: "\n").filter { $0.contains("protocol violation") }
        print("[hostile] lying-structure: \(lines.first ?? "")")
        // Once from the announcement, at most once more from the heads asked for on connect.
        #expect(lines.count <= 2, "no retries: \(lines)")
        #expect(lines.first?.contains("manifest \(culprit)") == true, "the line names \(culprit): \(lines)")
        #expect(!v.log.contains("retry 1"))
        let commit = json["commit"] as? String ?? "?"
        #expect(try v.heads()[commit] == nil, "the head must not move")
        let verified = try v.verify()
        #expect(verified.ok, "\(verified)")
        #expect(v.isRunning)
    }
}
