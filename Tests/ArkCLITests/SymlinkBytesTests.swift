import Foundation
import Glibc
import Testing

/// Symlink targets are bytes: one that is not UTF-8 is committed (not skipped), exported,
/// listed quoted and read back through the mount exactly.
@Suite struct SymlinkBytesTests {
    static let target: [UInt8] = [0x63, 0x61, 0x66, 0xe9, 0x2f, 0x0a, 0x78]  // "café/\nx" in Latin-1 with a newline

    static func makeLink(_ path: String) throws {
        let made = (target + [0]).withUnsafeBufferPointer { t in
            t.withMemoryRebound(to: CChar.self) { symlink($0.baseAddress!, path) }
        }
        try #require(made == 0, "symlink: \(errno)")
    }

    static func readLink(_ path: String) -> [UInt8]? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count)
        return n < 0 ? nil : buf[0..<n].map { UInt8(bitPattern: $0) }
    }

    static func fixture() throws -> MountFixture {
        let f = MountFixture()
        try FileManager.default.createDirectory(atPath: f.src, withIntermediateDirectories: true)
        try "plain\n".write(toFile: f.src + "/plain.txt", atomically: true, encoding: .utf8)
        try makeLink(f.src + "/latin-link")
        return f
    }

    @Test func committedExportedAndListedExactly() throws {
        let f = try Self.fixture()
        let r = try ArkProcess.run(["commit", "src", "--repo", "demo"], cwd: f.dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("skipped"))
        let ls = try f.ark("ls", "demo").stdout
        #expect(ls.contains("latin-link -> \"caf\\351/\\nx\""), "\(ls)")
        let out = f.dir.file("export")
        try f.ark("export", "demo", out)
        #expect(Self.readLink(out + "/latin-link") == Self.target)
        // Unchanged: committing again finds the same tree.
        let again = try ArkProcess.run(["commit", "src", "--repo", "demo", "--json"], cwd: f.dir.path)
        let json = try #require(try JSONSerialization.jsonObject(with: again.stdoutData) as? [String: Any])
        #expect(json["created"] as? Bool == false)
    }

    @Test(.enabled(if: FuseSupport.shouldRun))
    func mountReadsTheBytes() throws {
        try FuseSupport.require()
        let f = try Self.fixture()
        _ = try f.commit()
        try f.withMount("demo") { mp in
            #expect(Self.readLink(mp + "/latin-link") == Self.target)
        }
    }
}
