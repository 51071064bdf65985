import Foundation
import Glibc
import Testing

/// A `fetch = lazy` node mounting a peer's 512 MiB file: the first MiB arrives quickly and only
/// about what was read (plus read-ahead) is transferred, not the whole file.
@Suite(.serialized)
struct SyncLazyReadTests {
    static let size = 512 << 20

    @Test(.enabled(if: FuseSupport.shouldRun))
    func firstMebibyteOfALargeRemoteFile() throws {
        try FuseSupport.require()
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        try FileManager.default.createDirectory(atPath: a.dir.file("src"), withIntermediateDirectories: true)
        let made = try SyncNode.timed {
            let r = try sh("dd if=/dev/urandom of=src/big.bin bs=1M count=\(Self.size >> 20) status=none", cwd: a.dir.path)
            try #require(r.status == 0, "dd: \(r.err)")
        }
        let committed = try SyncNode.timed {
            let r = try a.ark("commit", "src", "--repo", "proj", "-m", "big")
            try #require(r.ok, "commit: \(r.stderr)")
        }
        print("[sync] 512 MiB: dd \(String(format: "%.2f", made)) s, commit \(String(format: "%.2f", committed)) s")
        let head = try #require(FileHandle(forReadingAtPath: a.dir.file("src/big.bin")))
        let expected = head.readData(ofLength: 1 << 20)
        try head.close()
        try FileManager.default.removeItem(atPath: a.dir.file("src/big.bin"))

        defer { a.stop(); b.stop() }
        try a.start()
        // B learns the metadata (lazy: no chunks), then stops; the mount runs its own daemon.
        try b.start()
        try SyncNode.converge("B has A's commit (metadata only)", [a, b]) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") }
        #expect(b.stop() == 0)
        let mp = b.dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mp, withIntermediateDirectories: true)
        let m = try b.ark("mount", "--daemon", "proj@a", mp)
        try #require(m.ok, "mount: \(m.stderr)")
        defer {
            if (try? b.ark("unmount", mp))?.ok != true { _ = try? b.ark("unmount", "--force", mp) }
        }

        let start = Date()
        let file = try #require(FileHandle(forReadingAtPath: mp + "/big.bin"))
        defer { try? file.close() }
        // A first small read times the first byte; the rest of the MiB follows.
        var got = try #require(try file.read(upToCount: 4096))
        let ttfb = Date().timeIntervalSince(start)
        try #require(!got.isEmpty, "the file reads as empty")
        while got.count < 1 << 20 {
            let part = try #require(try file.read(upToCount: (1 << 20) - got.count))
            try #require(!part.isEmpty, "end of file after \(got.count) bytes")
            got.append(part)
        }
        let firstMiB = Date().timeIntervalSince(start)
        let local = try sh("getfattr --only-values -n user.ark.local '\(mp)/big.bin'")
        let localBytes = try #require(Int(local.out.trimmingCharacters(in: .whitespacesAndNewlines)), "getfattr: \(local.err)")
        print(
            "[sync] lazy read of 512 MiB file: first byte \(String(format: "%.3f", ttfb)) s, first MiB \(String(format: "%.3f", firstMiB)) s, user.ark.local \(localBytes) bytes (\(localBytes >> 20) MiB)"
        )
        #expect(got == expected)
        #expect(ttfb < 2, "time to first byte \(ttfb) s")
        #expect(localBytes >= 1 << 20 && localBytes < 64 << 20, "user.ark.local = \(localBytes) after reading 1 MiB")
        let size = try FileManager.default.attributesOfItem(atPath: mp + "/big.bin")[.size] as? Int
        #expect(size == Self.size)
    }

    /// A lazy chunk whose only holder is down: the read fails with ETIMEDOUT once the fetch
    /// deadline (10 s) passes, not EIO (which means damage) and not a hang.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func aChunkNoPeerDeliversTimesOut() throws {
        try FuseSupport.require()
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: "lazy", remotes: [.init(name: "a", node: a)])
        _ = try a.commit("only-on-a.txt", String(repeating: "a", count: 100_000))
        defer { a.stop(); b.stop() }
        try a.start()
        try b.start()
        try SyncNode.converge("B has A's commit (metadata only)", [a, b]) { try b.ark("log", "--oneline").stdout.contains("(proj@a)") }
        #expect(b.stop() == 0)
        #expect(a.stop() == 0)
        let mp = b.dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mp, withIntermediateDirectories: true)
        let m = try b.ark("mount", "--daemon", "proj@a", mp)
        try #require(m.ok, "mount: \(m.stderr)")
        defer {
            if (try? b.ark("unmount", mp))?.ok != true { _ = try? b.ark("unmount", "--force", mp) }
        }
        let start = Date()
        let fd = open(mp + "/only-on-a.txt", O_RDONLY)
        try #require(fd >= 0, "open: \(errno)")
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buf, buf.count)
        let err = errno
        let waited = Date().timeIntervalSince(start)
        #expect(n == -1 && err == ETIMEDOUT, "read returned \(n), errno \(err)")
        #expect(waited >= 5 && waited < 25, "the read failed after \(waited) s (one fetch deadline is 10 s)")
    }
}
