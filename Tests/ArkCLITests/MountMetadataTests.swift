import Foundation
import Glibc
import Testing

/// A directory of 100,000 entries through the mount: listing (readdirplus), lookup and stat of
/// every one agree with the source tree. The mount is read by subprocesses only.
@Suite(.serialized, .enabled(if: FuseSupport.shouldRun))
struct MountMetadataTests {
    static let count = 100_000

    /// Files of varying sizes, modes and mtimes (with nanoseconds), plus subdirectories and
    /// symlinks among them, all in `src/big`.
    static let fixture: MountFixture = {
        let f = MountFixture()
        let big = f.src + "/big"
        try! FileManager.default.createDirectory(atPath: big, withIntermediateDirectories: true)
        let modes: [mode_t] = [0o644, 0o600, 0o755, 0o444]
        for i in 0..<count {
            let path = big + "/e\(i)"
            switch i % 1000 {
            case 998:  // a subdirectory, some with a file (its nlink and size must show too)
                mkdir(path, 0o755)
                if i % 2000 == 998 { _ = close(open(path + "/inner", O_WRONLY | O_CREAT, 0o644)) }
            case 999:
                symlink("e\(i - 1)", path)
            default:
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                let s = [UInt8](repeating: UInt8(ascii: "a") + UInt8(i % 26), count: i % 3 == 0 ? i % 2500 : i % 40)
                _ = s.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                fchmod(fd, modes[i % modes.count])
                close(fd)
            }
            var times = [
                timespec(tv_sec: 1_600_000_000 + i * 37, tv_nsec: (i * 7919) % 1_000_000_000),
                timespec(tv_sec: 1_600_000_000 + i * 37, tv_nsec: (i * 7919) % 1_000_000_000)
            ]
            utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
        }
        _ = try! f.commit("100k")
        return f
    }()

    /// Name, type, size (not of directories: the mount shows 4096 whatever the source's file
    /// system does), permission bits, mtime to the nanosecond, link count (not of directories:
    /// the mount reports 1, as btrfs does), one line each.
    static let findFormat =
        "find . -mindepth 1 \\( -type d -printf '%P %y - %m %T@ -\\n' \\) -o -printf '%P %y %s %m %T@ %n\\n' | LC_ALL=C sort"

    @Test func listingLookupAndStatOfAHundredThousandEntriesMatchTheSource() throws {
        try FuseSupport.require()
        let f = Self.fixture
        let want = try sh(Self.findFormat, cwd: f.src + "/big")
        try #require(want.status == 0, "\(want.err)")
        let wantLines = want.out.split(separator: "\n")
        #expect(wantLines.count == Self.count + Self.count / 2000)

        // Listing: every name once, through readdirplus (as ls -f and find read it).
        let names = try sh("ls -f . | LC_ALL=C sort", cwd: f.src + "/big").out
        var lookupInodes = ""
        try f.withMount("demo") { mp in
            let listed = try sh("ls -f . | LC_ALL=C sort", cwd: mp + "/big")
            #expect(listed.status == 0, "\(listed.err)")
            #expect(listed.out == names, "ls -f lists other names than the source")
            #expect(listed.out.split(separator: "\n").count == Self.count + 2)
            // Then stat of every entry, with the names and attributes it had in the listing.
            let got = try sh(Self.findFormat, cwd: mp + "/big")
            #expect(got.status == 0, "\(got.err)")
            let gotLines = got.out.split(separator: "\n")
            #expect(gotLines.count == wantLines.count)
            #expect(
                gotLines == wantLines,
                "\(zip(wantLines, gotLines).first { $0 != $1 }.map { "source \($0) vs mount \($1)" } ?? "counts differ")")
            #expect(try sh("find . -type d -printf '%n\\n' | sort -u", cwd: mp + "/big").out == "1\n", "directories' link count")
        }

        // Lookup and stat by name in a fresh mount, before anything lists the directory (no
        // entry comes from readdirplus): same attributes, and the same inode numbers as a
        // listing gives in another mount. Sizes and link counts of directories (mode 4xxxx) show
        // as "-", as in findFormat.
        let statFormat =
            "xargs -d '\\n' stat -c '%n %f %s %.9Y %h' | awk '{ if (substr($2, 1, 1) == \"4\") { $3 = \"-\"; $5 = \"-\" }; print }' | LC_ALL=C sort"
        let wantStat = try sh("ls -A . | \(statFormat)", cwd: f.src + "/big")
        try #require(wantStat.status == 0, "\(wantStat.err)")
        #expect(wantStat.out.split(separator: "\n").count == Self.count)
        try f.withMount("demo") { mp in
            let got = try sh("ls -A '\(f.src)/big' | \(statFormat)", cwd: mp + "/big")
            #expect(got.status == 0, "\(got.err)")
            #expect(
                got.out == wantStat.out,
                "\(zip(wantStat.out.split(separator: "\n"), got.out.split(separator: "\n")).first { $0 != $1 }.map { "source \($0) vs mount \($1)" } ?? "counts differ")"
            )
            lookupInodes = try sh("ls -A '\(f.src)/big' | xargs -d '\\n' stat -c '%n %i' | LC_ALL=C sort", cwd: mp + "/big").out
        }
        try f.withMount("demo") { mp in
            let listedInodes = try sh("find . -mindepth 1 -maxdepth 1 -printf '%P %i\\n' | LC_ALL=C sort", cwd: mp + "/big").out
            #expect(listedInodes.split(separator: "\n").count == Self.count)
            #expect(listedInodes == lookupInodes, "inode numbers from readdirplus differ from those of lookups")
        }
    }
}
