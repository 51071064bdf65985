import Foundation
import Testing

/// `[store.s3]` over https against the server's TLS front end (scripts/s3-server.sh), whose
/// certificate is signed by a CA of its own: `ca_file` makes it trusted; without it the start
/// fails with one line saying the certificate is not trusted; a bad `ca_file` is a config error.
@Suite(.serialized, .enabled(if: S3Server.enabled, "ARK_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)"))
struct S3TLSTests {
    /// A directory with conf/ark.toml (store conf/data) for the https endpoint, the CA copied to
    /// conf/ca.pem, and `caLine` (e.g. `ca_file = "ca.pem"`) in [store.s3].
    func setUp(caLine: String) throws -> TempDir {
        let (endpoint, ca) = try S3Server.requireTLS()
        let dir = TempDir("ark-s3tls")
        try dir.write("conf/ca.pem", ca)
        try dir.write("conf/ark.toml", try S3Server.config(endpoint: endpoint, extra: caLine) + "\n[net]\ndiscovery = false\n")
        return dir
    }

    func ark(_ dir: TempDir, _ args: String...) throws -> ArkProcess.Result {
        try ArkProcess.run(args + ["--config", "conf/ark.toml"], cwd: dir.path)
    }

    func expectOneLineError(_ r: ArkProcess.Result, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!r.ok, sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.stderr.contains(f), "missing '\(f)' in: \(r.stderr)", sourceLocation: sourceLocation) }
    }

    /// A relative ca_file resolves against ark.toml's directory (not the working directory).
    @Test func commitAndCatOverHTTPSWithCAFile() throws {
        let dir = try setUp(caLine: "ca_file = \"ca.pem\"")
        let bytes = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        try dir.write("src/data.bin", bytes)
        let commit = try ark(dir, "commit", "src", "--repo", "tls")
        #expect(commit.ok, "\(commit.stderr)")
        let cat = try ark(dir, "cat", "tls:data.bin")
        #expect(cat.ok, "\(cat.stderr)")
        #expect(cat.stdoutData == bytes)
        let packs = try FileManager.default.contentsOfDirectory(atPath: dir.file("conf/data"))
        #expect(packs.contains("node.key"))
    }

    @Test func untrustedCertificateWithoutCAFile() throws {
        let dir = try setUp(caLine: "")
        let r = try ark(dir, "id")
        let endpoint = try S3Server.requireTLS().endpoint
        expectOneLineError(r, ["[store.s3] the TLS certificate of \(endpoint) is not trusted", "ca_file"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("conf/data")), "nothing written")
    }

    @Test(arguments: [
        ("missing.pem", "does not exist"),
        ("not-pem.txt", "holds no PEM certificate"),
        ("subdir", "is a directory")
    ])
    func badCAFile(name: String, reason: String) throws {
        let dir = try setUp(caLine: "ca_file = \"\(name)\"")
        try dir.write("conf/not-pem.txt", "not a certificate\n")
        try dir.write("conf/subdir/x", "")
        let r = try ark(dir, "id")
        expectOneLineError(r, ["ark.toml:", "store.s3.ca_file", dir.file("conf/\(name)"), reason])
        #expect(r.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.file("conf/data")), "nothing written")
    }
}
