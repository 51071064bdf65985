import Foundation
import Glibc
import Testing

/// A mounted commit compared with its source tree and with `ark export`.
@Suite(.serialized, .enabled(if: FuseSupport.shouldRun))
struct MountContentTests {
    /// nested dirs, executables, symlinks, empty dirs, a 300 MiB file, unicode names and a
    /// 50,000-entry directory, committed once for the whole suite.
    static let fixture: MountFixture = {
        let f = MountFixture()
        let src = f.src
        let fm = FileManager.default
        try! fm.createDirectory(atPath: src + "/a/b/c/d", withIntermediateDirectories: true)
        try! fm.createDirectory(atPath: src + "/empty/nested-empty", withIntermediateDirectories: true)
        try! f.dir.write("src/a/b/c/d/deep.txt", "deep\n")
        try! f.dir.write("src/run.sh", "#!/bin/sh\necho hi\n", mode: 0o755)
        try! f.dir.write("src/a/tool", "binary-ish\u{0}\u{1}\n", mode: 0o755)
        try! f.dir.write("src/héllo wörld.txt", "unicode\n")
        try! f.dir.write("src/日本語/ファイル.md", "# 日本\n")
        try! f.dir.write("src/emoji-😀.txt", "smile\n")
        try! f.dir.write("src/empty-file", "")
        symlink("a/b/c/d/deep.txt", src + "/link-rel")
        symlink("/etc/hostname", src + "/link-abs")
        symlink("does-not-exist", src + "/link-dangling")
        symlink("a/b", src + "/link-dir")
        try! sh("head -c 314572800 /dev/urandom > '\(src)/big.bin'")
        try! fm.createDirectory(atPath: src + "/many", withIntermediateDirectories: true)
        for i in 0..<50_000 {
            let fd = open(src + "/many/f\(i)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            var s = Array("\(i)\n".utf8)
            _ = write(fd, &s, s.count)
            close(fd)
        }
        _ = try! f.commit("fixture")
        return f
    }()

    @Test func everyFileAndModeMatchesTheSource() throws {
        try FuseSupport.require()
        let f = Self.fixture
        try f.withMount("demo") { mp in
            let diff = try sh("diff -r --no-dereference '\(f.src)' '\(mp)'")
            #expect(diff.status == 0, "diff: \(diff.out.prefix(2000)) \(diff.err.prefix(500))")
            // Types and permission bits agree: the mount shows the stored modes (it is read-only all the same).
            let listing = "find . -printf '%P %y %l\\n' | LC_ALL=C sort"
            let a = try sh(listing, cwd: f.src), b = try sh(listing, cwd: mp)
            #expect(a.out == b.out)
            let modes = "find . -type f -printf '%P %m\\n' | LC_ALL=C sort"
            let ma = try sh(modes, cwd: f.src).out.split(separator: "\n")
            let mb = try sh(modes, cwd: mp).out.split(separator: "\n")
            #expect(ma.count == mb.count && ma.count > 50_000)
            #expect(ma == mb, "\(zip(ma, mb).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "")")
            var st = stat(), source = stat()
            #expect(stat(f.src + "/many", &source) == 0)
            #expect(stat(mp + "/many", &st) == 0 && st.st_mode & 0o7777 == source.st_mode & 0o7777)
            #expect(st.st_mtim.tv_sec == source.st_mtim.tv_sec && st.st_mtim.tv_nsec == source.st_mtim.tv_nsec)
            #expect(st.st_uid == getuid())
            let n = try sh("ls -f '\(mp)/many' | wc -l").out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(n == "50002")
        }
    }

    @Test func copyToolsOverTheMountMatchExport() throws {
        try FuseSupport.require()
        let f = Self.fixture
        let out = TempDir("ark-copies")
        try f.ark("export", "demo", out.file("export"))
        try f.withMount("demo") { mp in
            for (name, cmd) in [
                ("cp", "cp -a '\(mp)' '\(out.file("cp"))'"),
                ("tar", "mkdir '\(out.file("tar"))' && tar cf - -C '\(mp)' . | tar xf - -C '\(out.file("tar"))'"),
                ("rsync", "rsync -a '\(mp)/' '\(out.file("rsync"))/'")
            ] {
                let r = try sh(cmd)
                #expect(r.status == 0, "\(name): \(r.err)")
                let d = try sh("diff -r --no-dereference '\(out.file("export"))' '\(out.file(name))'")
                #expect(d.status == 0, "\(name) differs from export: \(d.out.prefix(1000))")
                let x = "find . -printf '%P %y %l\\n' | LC_ALL=C sort"
                #expect(try sh(x, cwd: out.file("export")).out == (try sh(x, cwd: out.file(name))).out, "\(name) structure")
            }
        }
    }

    @Test func sixteenParallelReadersGetCorrectBytes() throws {
        try FuseSupport.require()
        let f = Self.fixture
        let original = try #require(FileHandle(forReadingAtPath: f.src + "/big.bin"))
        let size: UInt64 = 314_572_800
        try f.withMount("demo") { mp in
            let failures = ManagedCounter()
            DispatchQueue.concurrentPerform(iterations: 16) { i in
                let fd = open(mp + "/big.bin", O_RDONLY)
                guard fd >= 0 else { failures.add(); return }
                defer { close(fd) }
                var rng = SystemRandomNumberGenerator()
                for _ in 0..<8 {
                    let offset = UInt64.random(in: 0..<size - 300_000, using: &rng) / UInt64(16) * UInt64(16) + UInt64(i)
                    let len = Int.random(in: 1...262_144, using: &rng)
                    var got = [UInt8](repeating: 0, count: len)
                    let n = pread(fd, &got, len, off_t(offset))
                    let want = [UInt8](repeating: 0, count: len)
                    var expected = want
                    let ofd = open(f.src + "/big.bin", O_RDONLY)
                    _ = pread(ofd, &expected, len, off_t(offset))
                    close(ofd)
                    if n != len || got != expected { failures.add() }
                }
            }
            #expect(failures.value == 0)
        }
        try original.close()
    }

    @Test func xattrsAreReadableButNotListed() throws {
        try FuseSupport.require()
        let f = Self.fixture
        let ls = try f.ark("ls", "demo:run.sh", "--json").stdout
        let commit = try f.ark("log", "-n", "1", "--oneline").stdout.prefix(12)
        try f.withMount("demo") { mp in
            let id = try sh("getfattr --only-values -n user.ark.id '\(mp)/run.sh'")
            #expect(id.status == 0, "\(id.err)")
            #expect(!id.out.isEmpty && ls.contains(id.out))
            #expect(try sh("getfattr --only-values -n user.ark.commit '\(mp)/run.sh'").out.hasPrefix(commit))
            #expect(try sh("getfattr --only-values -n user.ark.size '\(mp)/big.bin'").out == "314572800")
            #expect(try sh("getfattr --only-values -n user.ark.local '\(mp)/big.bin'").out == "314572800")
            let chunks = Int(try sh("getfattr --only-values -n user.ark.chunks '\(mp)/big.bin'").out) ?? 0
            #expect(chunks > 100)
            #expect(try sh("getfattr -d -m - '\(mp)/run.sh'").out.isEmpty)
            // Another user.* name has no value; other namespaces (security.selinux, which ls -l
            // asks of every entry) are not supported, so ls asks once per mount, not per entry.
            #expect(try sh("getfattr -n user.other '\(mp)/run.sh'").err.contains("No such attribute"))
            for name in ["security.selinux", "system.posix_acl_access", "trusted.x"] {
                let r = try sh("getfattr -n \(name) '\(mp)/run.sh'")
                #expect(r.status != 0 && r.err.contains("Operation not supported"), "\(name): \(r.err)")
            }
            // And user.ark.* still answers after those refusals (the kernel did not give up on getxattr).
            #expect(try sh("getfattr --only-values -n user.ark.id '\(mp)/run.sh'").out == id.out)
        }
    }

    @Test func writesAreRefusedReadOnly() throws {
        try FuseSupport.require()
        let f = Self.fixture
        try f.withMount("demo") { mp in
            for cmd in [
                "touch '\(mp)/new'", "mkdir '\(mp)/d'", "rm '\(mp)/run.sh'", "mv '\(mp)/run.sh' '\(mp)/x'",
                "chmod 777 '\(mp)/run.sh'", "sh -c 'echo x >> \"\(mp)/run.sh\"'", "ln -s a '\(mp)/l'",
                "setfattr -n user.x -v 1 '\(mp)/run.sh'"
            ] {
                let r = try sh(cmd)
                #expect(r.status != 0 && r.err.contains("Read-only file system"), "\(cmd): \(r.err)")
            }
            var sv = statvfs()
            #expect(statvfs(mp, &sv) == 0)
        }
    }
}

final class ManagedCounter: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
