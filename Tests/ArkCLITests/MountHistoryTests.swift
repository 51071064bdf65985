import ArkCore
import Foundation
import Glibc
import Testing

/// The history browser: heads, log, at, versions, commits/<prefix>, changes, and the hidden .ark/.
@Suite(.serialized, .enabled(if: FuseSupport.shouldRun))
struct MountHistoryTests {
    private func threeCommits() throws -> (MountFixture, [String]) {
        let f = MountFixture()
        try f.dir.write("src/notes.txt", "one\n")
        try f.dir.write("src/dir/keep.md", "keep\n")
        var ids = [try f.commit("first")]
        sleep(1)  // distinct commit times, for at/
        try f.dir.write("src/notes.txt", "two\n")
        ids.append(try f.commit("second"))
        try f.dir.write("src/dir/keep.md", "changed\n")
        ids.append(try f.commit("third"))  // notes.txt unchanged here
        return (f, ids)
    }

    @Test func browserLayout() throws {
        try FuseSupport.require()
        let (f, ids) = try threeCommits()
        try f.withMount(nil) { (mp: String) throws in
            #expect(try FileManager.default.contentsOfDirectory(atPath: mp).sorted() == ["changes", "commits", "repos"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: mp + "/repos") == ["demo"])
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: mp + "/repos/demo/heads/demo") == "../../../commits/\(ids[2])")
            #expect(try String(contentsOfFile: mp + "/repos/demo/heads/demo/notes.txt", encoding: .utf8) == "two\n")
            let log = try FileManager.default.contentsOfDirectory(atPath: mp + "/repos/demo/log").sorted()
            #expect(log.count == 3)
            #expect(log[0].hasPrefix("00001-") && log[0].hasSuffix(String(ids[0].prefix(12))) && !log[0].contains(":"))
            #expect(try String(contentsOfFile: mp + "/repos/demo/log/\(log[0])/notes.txt", encoding: .utf8) == "one\n")
            // commits/: lookup by full id or prefix; listing shows only README.txt
            #expect(try FileManager.default.contentsOfDirectory(atPath: mp + "/commits") == ["README.txt"])
            #expect(try String(contentsOfFile: mp + "/commits/\(ids[1])/notes.txt", encoding: .utf8) == "two\n")
            #expect(try String(contentsOfFile: mp + "/commits/\(ids[0].prefix(8))/notes.txt", encoding: .utf8) == "one\n")
            #expect(!FileManager.default.fileExists(atPath: mp + "/commits/ffffffffffff0000"))
            // versions/: one file per distinct content, in order
            let versions = try FileManager.default.contentsOfDirectory(atPath: mp + "/repos/demo/versions/notes.txt").sorted()
            #expect(versions == ["notes.1.txt", "notes.2.txt"])
            #expect(try String(contentsOfFile: mp + "/repos/demo/versions/notes.txt/notes.2.txt", encoding: .utf8) == "two\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: mp + "/repos/demo/versions/dir/keep.md").count == 2)
            // at/: lookup-only, by date, time or unix seconds
            #expect(try FileManager.default.contentsOfDirectory(atPath: mp + "/repos/demo/at").isEmpty)
            let first = try #require(try Repository(path: f.store).index.commit(ObjectID(hex: ids[0])!))
            #expect(try String(contentsOfFile: mp + "/repos/demo/at/\(first.committerTime)/notes.txt", encoding: .utf8) == "one\n")
            #expect(!FileManager.default.fileExists(atPath: mp + "/repos/demo/at/2001-01-01"))
            #expect(try String(contentsOfFile: mp + "/repos/demo/at/2999-01-01T00:00Z/notes.txt", encoding: .utf8) == "two\n")
        }
    }

    @Test func singleCommitHidesHistoryUnderDotArk() throws {
        try FuseSupport.require()
        let (f, ids) = try threeCommits()
        try f.withMount(ids[0]) { (mp: String) throws in
            let listing = try sh("ls -a '\(mp)'").out.split(separator: "\n")
            #expect(!listing.contains(".ark"))
            #expect(listing.contains("notes.txt"))
            var st = stat()
            #expect(stat(mp + "/.ark", &st) == 0 && st.st_mode & S_IFMT == S_IFDIR)
            #expect(try String(contentsOfFile: mp + "/.ark/repos/demo/heads/demo/notes.txt", encoding: .utf8) == "two\n")
            let found = try sh("find '\(mp)' | wc -l").out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(found == "4")  // root, notes.txt, dir, dir/keep.md: find does not walk history
        }
    }

    @Test func commitByAnotherProcessAppearsWithinTwoSeconds() throws {
        try FuseSupport.require()
        let (f, _) = try threeCommits()
        try f.withMount(nil) { (mp: String) throws in
            let before = try FileManager.default.contentsOfDirectory(atPath: mp + "/repos/demo/log").count
            #expect(before == 3)
            try f.dir.write("src/notes.txt", "four\n")
            let id = try f.commit("fourth")
            let deadline = Date().addingTimeInterval(2)
            var seen = false
            while Date() < deadline {
                let log = (try? FileManager.default.contentsOfDirectory(atPath: mp + "/repos/demo/log")) ?? []
                let head = try? FileManager.default.destinationOfSymbolicLink(atPath: mp + "/repos/demo/heads/demo")
                if log.count == 4 && head == "../../../commits/\(id)" { seen = true; break }
                usleep(50_000)
            }
            #expect(seen)
            let text = try String(contentsOfFile: mp + "/repos/demo/heads/demo/notes.txt", encoding: .utf8)
            #expect(text == "four\n")
            // A second repo shows up under repos/ too.
            _ = try f.commit("other", repo: "second")
            let deadline2 = Date().addingTimeInterval(2)
            var repos: [String] = []
            while Date() < deadline2 {
                repos = (try? FileManager.default.contentsOfDirectory(atPath: mp + "/repos")) ?? []
                if repos.count == 2 { break }
                usleep(50_000)
            }
            #expect(repos.sorted() == ["demo", "second"])
        }
    }

    @Test func corruptChunkGivesEIOOnlyWhereItIsRead() throws {
        try FuseSupport.require()
        let f = MountFixture()
        var rng = SystemRandomNumberGenerator()
        let big = (0..<6_000_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try f.dir.write("src/big.bin", Data(big))
        try f.dir.write("src/ok.txt", "fine\n")
        _ = try f.commit()
        let json = try JSONSerialization.jsonObject(with: f.ark("ls", "--json", "demo:big.bin").stdoutData)
        let items = try #require(json as? [[String: Any]])
        let hex = try #require(items.first?["id"] as? String)
        let manifestID = try #require(ObjectID(hex: hex))
        let (start, end, pack, offset, bad): (UInt64, UInt64, String, UInt64, UInt64) = try {
            let repo = try Repository(path: f.store)
            let m = try repo.manifest(manifestID)
            try #require(m.count >= 4)
            let victim = m.count / 2  // far from both ends, beyond the kernel's read-ahead of page 0
            let loc = try #require(try repo.index.object(m.id(at: victim))?.location)
            let name = try #require(try repo.index.packName(loc.pack))
            #expect(loc.compression == .none)
            return (
                m.start(at: victim), m.end(at: victim), repo.packDirectory + "/" + name, loc.offset + UInt64(loc.storedLength / 2),
                m.start(at: victim) + UInt64(loc.storedLength / 2)
            )
        }()
        try StoreDamage.flipByte(at: offset, in: pack, mask: 0x40)
        try f.withMount("demo") { (mp: String) throws in
            let file = open(mp + "/big.bin", O_RDONLY)
            defer { close(file) }
            var buf = [UInt8](repeating: 0, count: 4096)
            // Before the bad chunk: correct bytes.
            #expect(pread(file, &buf, 4096, 0) == 4096 && buf == Array(big[0..<4096]))
            // The page holding the bad byte: EIO, never wrong bytes.
            let n = pread(file, &buf, 4096, off_t(bad / 4096 * 4096))
            let err = errno
            #expect(n == -1 && err == EIO)
            // The same chunk's first 16 KiB block is intact and checked by its own tag.
            let inFirstBlock = Int((start + 4095) / 4096 * 4096)
            // (Chunks are at least 64 KiB, so the bad byte in the middle is past the first block.)
            try #require(UInt64(inFirstBlock + 4096) <= start + 16384 && bad >= start + 16384)
            #expect(pread(file, &buf, 4096, off_t(inFirstBlock)) == 4096 && buf == Array(big[inFirstBlock..<inFirstBlock + 4096]))
            // After it (from the next page that does not overlap it): correct bytes again. Reads
            // are page-granular in the kernel, so a page straddling the bad chunk is EIO too.
            let after = Int((end + 4095) / 4096 * 4096)
            if after + 4096 <= big.count {
                #expect(pread(file, &buf, 4096, off_t(after)) == 4096 && buf == Array(big[after..<after + 4096]))
            }
            #expect(try String(contentsOfFile: mp + "/ok.txt", encoding: .utf8) == "fine\n")
        }
    }

    /// A large file's first block is read ahead as soon as it is looked up. When that block
    /// is corrupt, the read-ahead fails quietly and the reads that want it still get EIO
    /// (never its bytes); the rest of the file reads correctly.
    @Test func corruptFirstBlockReadAheadAtLookupIsEIO() throws {
        try FuseSupport.require()
        let f = MountFixture()
        let size = 17 << 20  // past the size whose lookup starts the read-ahead (16 MiB)
        let big = [UInt8](try #require(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: size)))
        try f.dir.write("src/big.bin", Data(big))
        _ = try f.commit()
        let json = try JSONSerialization.jsonObject(with: f.ark("ls", "--json", "demo:big.bin").stdoutData)
        let hex = try #require((json as? [[String: Any]])?.first?["id"] as? String)
        let (second, pack, offset): (Int, String, UInt64) = try {
            let repo = try Repository(path: f.store)
            let m = try repo.manifest(try #require(ObjectID(hex: hex)))
            try #require(m.level == 0 && m.count >= 2 && m.entry(at: 0).length > 16_384)
            let loc = try #require(try repo.index.object(m.id(at: 0))?.location)
            #expect(loc.compression == .none)
            return (Int(m.start(at: 1)), repo.packDirectory + "/" + (try #require(try repo.index.packName(loc.pack))), loc.offset + 100)
        }()
        try StoreDamage.flipByte(at: offset, in: pack)
        try f.withMount("demo") { (mp: String) throws in
            var st = stat()
            #expect(stat(mp + "/big.bin", &st) == 0 && st.st_size == size)  // the lookup starts the read-ahead
            usleep(200_000)
            let file = open(mp + "/big.bin", O_RDONLY)
            defer { close(file) }
            var buf = [UInt8](repeating: 0, count: 4096)
            for _ in 0..<2 {
                let n = pread(file, &buf, 4096, 0)
                let err = errno
                #expect(n == -1 && err == EIO)
            }
            let page = (second + 4095) / 4096 * 4096
            #expect(pread(file, &buf, 4096, off_t(page)) == 4096 && buf == Array(big[page..<page + 4096]))
        }
    }
}
