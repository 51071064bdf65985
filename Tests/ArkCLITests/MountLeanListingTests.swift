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
            let wantNames = want.out.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
            #expect(Self.withoutInodes(names.out).map(String.init) == wantNames)
            // Another process stats everything (as du after find does): the kernel's lean
            // listings are dropped and asked again; attributes match, inodes are the listing's.
            let stats = try sh(Self.walk(".", stat: true), cwd: mp)
            #expect(stats.status == 0, "\(stats.err)")
            #expect(Self.withoutInodes(stats.out) == Self.withoutInodes(want.out))
            let listed = names.out.split(separator: "\n").map { $0.split(separator: " ").last! }
            let statted = stats.out.split(separator: "\n").map { $0.split(separator: " ").last! }
            let differing = zip(listed, statted).filter { $0 != $1 }.count
            #expect(listed.count == statted.count && differing == 0, "\(differing) inode numbers of the listing differ from the stat's")
            let statsAgain = try sh(Self.walk(".", stat: true), cwd: mp)
            #expect(statsAgain.out == stats.out)
        }
        try f.withMount("demo") { mp in
            // One process: names first, the stats after its walk.
            let both = try sh(Self.walk(".", stat: true), cwd: mp)
            #expect(both.status == 0, "\(both.err)")
            #expect(Self.withoutInodes(both.out) == Self.withoutInodes(want.out))
        }
    }
}
