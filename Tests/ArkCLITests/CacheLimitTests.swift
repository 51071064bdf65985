import Foundation
import Glibc
import Testing

/// `[store] cache_limit`: a lazy node's mount fetches chunks on demand and keeps them as a
/// cache that never grows past the limit, while every read still returns the right bytes.
@Suite(.serialized)
struct CacheLimitTests {
    @Test(.enabled(if: FuseSupport.shouldRun))
    func lazyMountCacheStaysWithinItsLimit() throws {
        try FuseSupport.require()
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "a-peer", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        try b.dir.write(
            "ark.toml", "[store]\ncache_limit = \"16MiB\"\n\n" + String(contentsOfFile: b.dir.file("ark.toml"), encoding: .utf8))
        var rng = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: (40 << 20) / 8)
        for i in words.indices { words[i] = rng.next() }
        let big = words.withUnsafeBytes { Data($0) }
        try a.dir.write("src/big.bin", big)
        try a.ark("commit", "src", "--repo", "proj", "-m", "big")
        let pa = try ArkProcess.start(["run"], cwd: a.dir.path)
        defer { kill(pa.processIdentifier, SIGTERM); pa.waitUntilExit() }
        let mp = b.dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mp, withIntermediateDirectories: true)
        let m = try b.ark("mount", "--daemon", mp)
        try #require(m.ok, "\(m.stderr)")
        defer { _ = try? b.ark("unmount", mp) }
        let file = mp + "/repos/proj/heads/proj@a/big.bin"
        #expect(SyncNode.eventually(20) { FileManager.default.fileExists(atPath: file) })
        // Twice through: the second pass re-fetches what the first evicted.
        for pass in 1...2 {
            #expect(FileManager.default.contents(atPath: file) == big, "pass \(pass)")
            let local = Int(try sh("getfattr --only-values -n user.ark.local '\(file)'").out) ?? -1
            // At most the limit plus the chunks being fetched at once (8 loads of up to 1 MiB).
            #expect(local > 0 && local <= (16 + 8) << 20, "pass \(pass): \(local) bytes of the file kept")
        }
        #expect(try b.ark("verify").ok)
        // `ark status` reports the cache and its limit.
        let status = try JSONSerialization.jsonObject(with: try b.ark("status", "--json").stdoutData) as? [String: Any]
        let cache = try #require(status?["cache"] as? [String: Any])
        #expect(cache["limit"] as? Int == 16 << 20)
        let bytes = cache["bytes"] as? Int ?? -1
        #expect(bytes > 0 && bytes <= (16 + 8) << 20, "\(cache)")
    }
}
