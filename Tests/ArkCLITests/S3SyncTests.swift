import ArkCore
import Foundation
import Glibc
import Testing

@testable import ArkS3

/// Two real `ark run` daemons on loopback (LAN discovery off), one whose packs live in the S3
/// bucket of scripts/s3-server.sh and one with a local store: commits travel both ways.
@Suite(.serialized, .enabled(if: S3Server.enabled, "ARK_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)"))
struct S3SyncTests {
    /// Pseudo-random bytes (large enough to be stored as chunks in a pack, not inline).
    static func bytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(out)
    }

    /// A (bucket) commits, B (local) gets it; B commits, A gets it and stores it in the bucket;
    /// `cat` returns the same bytes on both sides and `ark verify` passes on both.
    @Test func bucketNodeAndLocalNodeSyncBothWays() throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "full", remotes: [.init(name: "a", node: a)])
        let prefix = "sync-\(UUID().uuidString.prefix(8))/"
        let toml = try String(contentsOfFile: a.dir.file("ark.toml"), encoding: .utf8)
        try a.dir.write("ark.toml", toml + "\n\n" + (try S3Server.config(prefix: prefix)) + "\n")
        let id = try a.ark("id")
        try #require(id.ok, "ark id with [store.s3]: \(id.stderr)")
        #expect(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == a.id)
        let bucket = try S3StoreTests.bucket(prefix: prefix)

        let fromA = Self.bytes(300_000, seed: 11)
        try a.dir.write("src/a.bin", fromA)
        let commitA = try a.commit("a.txt", "from the bucket node\n")
        let packsAfterA = try bucket.list(prefix: "packs/")
        #expect(!packsAfterA.isEmpty, "A's commit put packs in the bucket")
        try a.start()
        try b.start()
        defer {
            a.stop()
            b.stop()
        }

        // A -> B.
        try SyncNode.converge("A's commit on B", [a, b], within: 90) { try b.heads()[commitA]?.contains { $0.contains("proj@a") } == true }
        try SyncNode.converge("A's bytes on B", [a, b], within: 60) { try b.ark("cat", "proj@a:a.bin").stdoutData == fromA }
        #expect(try b.ark("cat", "proj@a:a.txt").stdout == "from the bucket node\n")

        // B -> A: what A fetches goes into the bucket.
        let fromB = Self.bytes(250_000, seed: 12)
        try b.dir.write("src/b.bin", fromB)
        let commitB = try b.commit("b.txt", "from the local node\n")
        try SyncNode.converge("B's commit on A", [a, b], within: 90) { try a.heads()[commitB]?.contains { $0.contains("proj@b") } == true }
        try SyncNode.converge("B's bytes on A", [a, b], within: 60) { try a.ark("cat", "proj@b:b.bin").stdoutData == fromB }
        #expect(try a.ark("cat", "proj@b:b.txt").stdout == "from the local node\n")
        #expect(try a.ark("cat", "proj:a.bin").stdoutData == fromA)
        #expect(try bucket.list(prefix: "packs/").count > packsAfterA.count, "B's chunks were stored in A's bucket")

        // Both stores are sound and complete (every chunk stored: both fetch in full).
        try SyncNode.converge("verify on A", [a, b], within: 60) { try a.verify().complete }
        try SyncNode.converge("verify on B", [a, b], within: 60) { try b.verify().complete }
        let verifyA = try a.verify(), verifyB = try b.verify()
        #expect(verifyA.commits >= 2 && verifyB.commits >= 2, "A: \(verifyA.commits) commits, B: \(verifyB.commits)")
        #expect(a.isRunning && b.isRunning)
    }
}
