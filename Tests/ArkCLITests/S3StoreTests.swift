import ArkCore
import Foundation
import Glibc
import Testing

@testable import ArkS3

/// An S3-backed store end to end, against the real server of scripts/s3-server.sh: `ark`
/// processes, a real FUSE mount, the bucket as the only copy of the data.
@Suite(.serialized, .enabled(if: S3Server.enabled, "ARK_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)"))
struct S3StoreTests {
    /// A workspace whose ark.toml puts the packs in the bucket under a fresh prefix.
    static func workspace(cacheLimit: String = "64MiB", s3Extra: String = "") throws -> (Workspace, prefix: String) {
        let ws = Workspace()
        let prefix = "e2e-\(UUID().uuidString.prefix(8))/"
        let toml = try S3Server.config(prefix: prefix, extra: s3Extra).replacingOccurrences(
            of: "path = \"data\"", with: "path = \"data\"\ncache_limit = \"\(cacheLimit)\"")
        try ws.write("ark.toml", Array((toml + "\n[net]\ndiscovery = false\n").utf8))
        return (ws, prefix)
    }

    /// A client of the test bucket, to look at and damage what ark stored.
    static func bucket(prefix: String) throws -> S3PackStorage {
        let creds = try S3Configuration.credentialsFromEnvironment()
        let config = S3Configuration(
            endpoint: URL(string: try S3Server.requireEndpoint())!, bucket: S3Server.bucket, prefix: prefix, credentials: creds)
        return S3PackStorage(configuration: config)
    }

    static func du(_ path: String) throws -> Int {
        Int(try sh("du -sk '\(path)' | cut -f1").out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Removes the local store but node.key (ark.toml is beside it).
    static func loseLocalStore(_ ws: Workspace) throws {
        let key = try Data(contentsOf: URL(fileURLWithPath: ws.store + "/node.key"))
        try FileManager.default.removeItem(atPath: ws.store)
        try FileManager.default.createDirectory(atPath: ws.store, withIntermediateDirectories: true)
        try key.write(to: URL(fileURLWithPath: ws.store + "/node.key"))
        chmod(ws.store + "/node.key", 0o600)
    }

    /// 512 MiB committed to the bucket: the local directory stays small; cat, export and the mount
    /// return the same bytes; the local store lost (node.key and ark.toml kept), `ark repair
    /// index` brings every head back and verify passes.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func largeFileRoundTripAndRecoveryFromTheBucket() throws {
        try FuseSupport.require()
        let (ws, prefix) = try Self.workspace()
        try ws.mkdir("src")
        #expect(try sh("head -c \(512 << 20) /dev/urandom > '\(ws.dir.file("src/big.bin"))'").status == 0)
        try ws.write("src/small.txt", Array("small\n".utf8))
        try ws.mkdir("other")
        try ws.write("other/a.txt", Array("other repo\n".utf8))
        let c1 = try ws.ok("commit", "src", "--repo", "media")
        let c2 = try ws.ok("commit", "other", "--repo", "notes")
        let localKB = try Self.du(ws.store)
        #expect(localKB < 200 << 10, "local store is \(localKB) KiB for 512 MiB of data")
        let listed = try Self.bucket(prefix: prefix).list(prefix: "packs/")
        #expect(listed.reduce(0) { $0 + $1.size } > 512 << 20, "bucket holds the data")

        let want = try sh("sha256sum < '\(ws.dir.file("src/big.bin"))'").out
        #expect(try sh("'\(ArkProcess.binary)' cat media:big.bin | sha256sum", cwd: ws.path).out == want)
        #expect(try ws.ark("export", c1, "out").ok)
        #expect(try sh("sha256sum < out/big.bin", cwd: ws.path).out == want)
        try FileManager.default.removeItem(atPath: ws.dir.file("out"))
        let mp = ws.dir.file("mnt")
        try ws.mkdir("mnt")
        let m = try ws.ark("mount", "--daemon", "media", mp)
        try #require(m.ok, "\(m.stderr)")
        #expect(try sh("sha256sum < '\(mp)/big.bin'").out == want)
        _ = try ws.ark("unmount", mp)
        let heads = try ws.ok("log", "--oneline")

        try Self.loseLocalStore(ws)
        let r = try ws.ark("repair", "index")
        #expect(r.ok, "\(r.stdout) \(r.stderr)")
        #expect(try ws.ok("log", "--oneline") == heads)
        #expect(try ws.ok("show", "media").contains(c1.prefix(12)) || (try ws.ok("log", "media")).contains(c1.prefix(12)))
        _ = c2
        let v = try ws.ark("verify")
        #expect(v.ok, "\(v.stdout) \(v.stderr)")
        #expect(try sh("'\(ArkProcess.binary)' cat media:big.bin | sha256sum", cwd: ws.path).out == want)
    }

    /// A byte flipped in a pack in the bucket: reads of it through the mount fail with EIO and
    /// `ark cat` reports corruption; nothing wrong is served.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func aByteFlippedInTheBucketIsCaught() throws {
        try FuseSupport.require()
        let (ws, prefix) = try Self.workspace()
        try ws.mkdir("src")
        var rng = SeededRandom(seed: 1801)
        try ws.write("src/data.bin", rng.bytes(3 << 20))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        let bucket = try Self.bucket(prefix: prefix)
        let pack = try #require(try bucket.list(prefix: "packs/").filter { $0.key.hasSuffix(".pack") }.max { $0.size < $1.size })
        var bytes = try #require(try bucket.get(key: pack.key))
        bytes[bytes.count / 2] ^= 0x40
        try bucket.put(key: pack.key, bytes: bytes)
        // Drop every local copy: reads must come from the bucket.
        try Self.loseLocalStore(ws)
        // Repair reads record directories, not the flipped data byte: it succeeds.
        _ = try ws.ark("repair", "index")
        let cat = try ws.ark("cat", "proj:data.bin")
        #expect(!cat.ok)
        #expect(cat.stderr.contains("corrupt") || cat.stderr.contains("does not verify") || cat.stderr.contains("hash"), "\(cat.stderr)")
        let mp = ws.dir.file("mnt")
        try ws.mkdir("mnt")
        let m = try ws.ark("mount", "--daemon", "proj", mp)
        try #require(m.ok, "\(m.stderr)")
        defer { _ = try? ws.ark("unmount", mp) }
        let r = try sh("cat '\(mp)/data.bin' > /dev/null")
        #expect(r.status != 0)
        #expect(r.err.contains("Input/output error"), "\(r.err)")
    }

    /// The S3 front end stopped while the mount reads: EIO within the retry deadline, and reads
    /// work again once it is back.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func serverStoppedMidReadGivesEIOThenRecovers() throws {
        try FuseSupport.require()
        let (ws, _) = try Self.workspace(cacheLimit: "16MiB")
        try ws.mkdir("src")
        var rng = SeededRandom(seed: 1802)
        let data = rng.bytes(40 << 20)
        try ws.write("src/data.bin", data)
        _ = try ws.ok("commit", "src", "--repo", "proj")
        try Self.loseLocalStore(ws)
        #expect(try ws.ark("repair", "index").ok)
        let mp = ws.dir.file("mnt")
        try ws.mkdir("mnt")
        let m = try ws.ark("mount", "--daemon", "proj", mp)
        try #require(m.ok, "\(m.stderr)")
        defer { _ = try? ws.ark("unmount", mp) }
        #expect(try sh("head -c 1000000 '\(mp)/data.bin' > /dev/null").status == 0)
        try S3Server.script("proxy-stop")
        var back = false
        defer { if !back { try? S3Server.script("proxy-start") } }
        let start = Date()
        let r = try sh("cat '\(mp)/data.bin' > /dev/null")
        let took = Date().timeIntervalSince(start)
        #expect(r.status != 0 && r.err.contains("Input/output error"), "\(r.status) \(r.err)")
        #expect(took < 60, "EIO after \(took) s")
        try S3Server.script("proxy-start")
        back = true
        let again = try sh("cmp '\(mp)/data.bin' '\(ws.dir.file("src/data.bin"))'")
        #expect(again.status == 0, "\(again.out) \(again.err)")
    }

    /// The S3 front end frozen while the mount reads (SIGSTOP: connections are accepted and
    /// nothing answers): the reading process gets EIO, never hangs (reads in the mount fail from
    /// `[store.s3] timeout` plus the chunk's transfer allowance on); after SIGCONT the same mount
    /// reads the right bytes.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func serverFrozenMidReadGivesEIOThenRecovers() throws {
        try FuseSupport.require()
        let (ws, _) = try Self.workspace(cacheLimit: "16MiB", s3Extra: "timeout = 3")
        try ws.mkdir("src")
        var rng = SeededRandom(seed: 1804)
        try ws.write("src/data.bin", rng.bytes(40 << 20))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        try Self.loseLocalStore(ws)
        #expect(try ws.ark("repair", "index").ok)
        let mp = ws.dir.file("mnt")
        try ws.mkdir("mnt")
        let m = try ws.ark("mount", "--daemon", "proj", mp)
        try #require(m.ok, "\(m.stderr)")
        defer { _ = try? ws.ark("unmount", mp) }
        #expect(try sh("head -c 1000000 '\(mp)/data.bin' > /dev/null").status == 0)
        let pid = try S3Server.proxyPid()
        #expect(kill(pid, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        let start = Date()
        // `timeout` bounds the subprocess itself: a hang is a failure, not a stuck test run.
        let r = try sh("timeout 90 cat '\(mp)/data.bin' > /dev/null")
        let took = Date().timeIntervalSince(start)
        #expect(r.status != 0 && r.err.contains("Input/output error"), "\(r.status) \(r.err)")
        // Measured 13 s on a loaded 2-core machine (3 s plus the chunks' allowance, then the
        // kernel's retries of the pages `cat` wants); the default 30 s deadline alone exceeds this.
        #expect(took < 30, "EIO after \(took) s")
        #expect(kill(pid, SIGCONT) == 0)
        resumed = true
        let again = try sh("timeout 90 cmp '\(mp)/data.bin' '\(ws.dir.file("src/data.bin"))'")
        #expect(again.status == 0, "\(again.out) \(again.err)")
        #expect(try sh("timeout 30 ls '\(mp)'").out.contains("data.bin"))
    }

    /// A store that kept its packs locally and then gets `[store.s3]`: the next command uploads
    /// its history (packs, record directories, a state record of its heads), a second run sends
    /// nothing, and the bucket alone then recovers every head with `repair index`.
    @Test func localHistoryGoesToTheBucketWhenS3IsAdded() throws {
        let (ws, prefix) = try Self.workspace()
        let withBucket = try String(contentsOfFile: ws.dir.file("ark.toml"), encoding: .utf8)
        try ws.write("ark.toml", Array("[store]\npath = \"data\"\n\n[net]\ndiscovery = false\n".utf8))
        var rng = SeededRandom(seed: 1805)
        try ws.mkdir("src")
        try ws.write("src/a.bin", rng.bytes(3 << 20))
        _ = try ws.ok("commit", "src", "--repo", "media")
        try ws.write("src/b.txt", Array("second commit\n".utf8))
        _ = try ws.ok("commit", "src", "--repo", "media")
        try ws.mkdir("notes")
        try ws.write("notes/n.txt", Array("notes\n".utf8))
        _ = try ws.ok("commit", "notes", "--repo", "notes")
        let heads = try ws.ok("log", "--oneline")
        let want = try ws.ark("cat", "media:a.bin").stdoutData
        #expect(want.count == 3 << 20)

        try ws.write("ark.toml", Array(withBucket.utf8))
        let bucket = try Self.bucket(prefix: prefix)
        #expect(try bucket.list(prefix: "").isEmpty)
        #expect(try ws.ok("log", "--oneline") == heads)
        let listed = try bucket.list(prefix: "")
        let packs = listed.filter { $0.key.hasSuffix(".pack") }
        #expect(!packs.isEmpty && packs.reduce(0) { $0 + $1.size } > 3 << 20, "\(listed.map(\.key))")
        #expect(listed.filter { $0.key.hasSuffix(".dir") }.count == packs.count)
        #expect(listed.contains { $0.key.hasPrefix("state/") }, "\(listed.map(\.key))")
        _ = try ws.ok("log", "--oneline")
        #expect(try bucket.list(prefix: "") == listed, "a second run uploads nothing")

        try Self.loseLocalStore(ws)
        let r = try ws.ark("repair", "index")
        #expect(r.ok, "\(r.stdout) \(r.stderr)")
        #expect(try ws.ok("log", "--oneline") == heads)
        let v = try ws.ark("verify")
        #expect(v.ok, "\(v.stdout) \(v.stderr)")
        #expect(try ws.ark("cat", "media:a.bin").stdoutData == want)
    }

    /// gc deletes the packs of a commit no head reaches from the bucket, and nothing else.
    @Test func gcDeletesUnreachablePacksAndNothingElse() throws {
        let (ws, prefix) = try Self.workspace()
        var rng = SeededRandom(seed: 1803)
        try ws.mkdir("src")
        try ws.write("src/live.bin", rng.bytes(2 << 20))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        let bucket = try Self.bucket(prefix: prefix)
        let live = Set(try bucket.list(prefix: "packs/").map(\.key))
        try ws.mkdir("dead")
        try ws.write("dead/dead.bin", rng.bytes(2 << 20))
        _ = try DirectWrites.commit(store: ws.store, packStorage: bucket, [(ws.dir.file("dead"), nil)])
        let withDead = Set(try bucket.list(prefix: "packs/").map(\.key))
        #expect(withDead.count > live.count)
        let gc = try ws.ark("gc", "--json")
        #expect(gc.ok, "\(gc.stderr)")
        let after = Set(try bucket.list(prefix: "packs/").map(\.key))
        #expect(after == live, "left: \(after.subtracting(live)), lost: \(live.subtracting(after))")
        let v = try ws.ark("verify")
        #expect(v.ok, "\(v.stdout) \(v.stderr)")
        #expect(try ws.ark("cat", "proj:live.bin").stdoutData.count == 2 << 20)
    }
}
