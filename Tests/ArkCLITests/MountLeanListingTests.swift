import Foundation
import Glibc
import Testing

/// Walks that read names only get lean listings (files without attributes, `ListingPolicy`);
/// whatever stats the same entries afterwards, in the walking process or another, sees the
/// source's attributes and the inode numbers the listing gave. The mount is read by
/// subprocesses only.
@Suite(.serialized, .enabled(if: FuseSupport.shouldRun))
struct MountLeanListingTests {
    /// 24 directories of 40 files (sizes and modes varying), a symlink and a subdirectory each.
    static let fixture: MountFixture = {
        let f = MountFixture()
        for d in 0..<24 {
            let dir = f.src + "/d\(d)"
            try! FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
            for i in 0..<40 {
                let fd = open(dir + "/f\(i)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                let s = [UInt8](repeating: UInt8(ascii: "a") + UInt8(i % 26), count: (d * 97 + i * 31) % 3000)
                _ = s.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                fchmod(fd, i % 3 == 0 ? 0o755 : 0o640)
                close(fd)
            }
            symlink("f0", dir + "/link")
            _ = close(open(dir + "/sub/inner", O_WRONLY | O_CREAT, 0o600))
        }
        _ = try! f.commit("lean")
        return f
    }()

    /// Every entry's path, type and, with `stat`, size, mode and mtime; the inode number is
    /// the listing's (d_ino, no stat) or the stat's. Sorted.
    static func walk(_ root: String, stat: Bool) -> String {
        """
        python3 -c '
        import os, sys
        out = []
        def walk(d, rel):
            for e in os.scandir(d):
                p = rel + e.name
                t = "d" if e.is_dir(follow_symlinks=False) else ("l" if e.is_symlink() else "f")
                out.append((p, t, e.inode()))
                if t == "d":
                    walk(e.path, p + "/")
        walk(".", "")
        for p, t, ino in sorted(out):
            if \(stat ? "True" : "False"):
                s = os.lstat(p)
                size = "-" if t == "d" else s.st_size
                print(p, t, size, oct(s.st_mode & 0o7777), s.st_mtime_ns, s.st_ino)
            else:
                print(p, t, ino)
        '
        """
    }

    /// A walk as `du` does it: each directory's entries stat'ed right after it is listed.
    static let statAsListed = """
        python3 -c '
        import os
        n = 0
        for d, dirs, files in os.walk("."):
            for f in files:
                os.lstat(os.path.join(d, f)); n += 1
        print(n)
        '
        """

    /// The mount's counters (`user.ark.listings` on the root): files answered lean and in
    /// full by readdirplus, listings dropped from the kernel's cache.
    static func counts(_ mp: String) throws -> [String: Int] {
        let out = try sh("python3 -c 'import os; print(os.getxattr(\".\", \"user.ark.listings\").decode())'", cwd: mp)
        #expect(out.status == 0, "\(out.err)")
        var c: [String: Int] = [:]
        for pair in out.out.split(whereSeparator: \.isWhitespace) {
            let kv = pair.split(separator: "=")
            if kv.count == 2 { c[String(kv[0])] = Int(kv[1]) }
        }
        return c
    }

    /// Drops the inode column of each line.
    static func withoutInodes(_ s: String) -> [Substring] {
        s.split(separator: "\n").map { line in line[..<(line.lastIndex(of: " ") ?? line.endIndex)] }
    }

    @Test func aNamesOnlyWalkThenStatsInAnotherProcessAndInTheSameOneMatchTheSource() throws {
        try FuseSupport.require()
        let f = Self.fixture
        let want = try sh(Self.walk(".", stat: true), cwd: f.src)
        try #require(want.status == 0, "\(want.err)")
        #expect(want.out.split(separator: "\n").count == 24 * 44)
        try f.withMount("demo") { mp in
            // A walk that reads names only (as find does): lean listings after its first.
            let names = try sh(Self.walk(".", stat: false), cwd: mp)
            #expect(names.status == 0, "\(names.err)")
            // 24 x 42 files and symlinks: the first directory's in full, the rest lean.
            let afterNames = try Self.counts(mp)
            #expect((afterNames["lean"] ?? 0) >= 900, "\(afterNames)")
            #expect((afterNames["full"] ?? 0) <= 42, "\(afterNames)")
            let wantNames = want.out.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
            #expect(Self.withoutInodes(names.out).map(String.init) == wantNames)
            // Another process walks as du does, statting each directory's entries as it lists
            // them: its first lookup in a lean listing drops every lean listing from the
            // kernel's cache, so the directories it walks on into are asked again and (after its
            // probes) answered in full.
            let du = try sh(Self.statAsListed, cwd: mp)
            #expect(du.out == "\(24 * 42)\n", "\(du.err)")
            let afterDu = try Self.counts(mp)
            #expect((afterDu["dropped"] ?? 0) >= 40, "the lean listings were not dropped: \(afterNames) -> \(afterDu)")
            #expect((afterDu["full"] ?? 0) - (afterNames["full"] ?? 0) >= 600, "\(afterNames) -> \(afterDu)")
            // Then a third process stats everything after listing it all: attributes match the
            // source, and inode numbers are those of the lean listing.
            let stats = try sh(Self.walk(".", stat: true), cwd: mp)
            #expect(stats.status == 0, "\(stats.err)")
            #expect(Self.withoutInodes(stats.out) == Self.withoutInodes(want.out))
            let listed = names.out.split(separator: "\n").map { $0.split(separator: " ").last! }
            let statted = stats.out.split(separator: "\n").map { $0.split(separator: " ").last! }
            let differing = zip(listed, statted).filter { $0 != $1 }.count
            #expect(listed.count == statted.count && differing == 0, "\(differing) inode numbers of the listing differ from the stat's")
        }
        try f.withMount("demo") { mp in
            // One process: names first, the stats after its walk.
            let both = try sh(Self.walk(".", stat: true), cwd: mp)
            #expect(both.status == 0, "\(both.err)")
            #expect(Self.withoutInodes(both.out) == Self.withoutInodes(want.out))
        }
    }
}
