import Foundation
import Glibc

/// The S3 server scripts/s3-server.sh starts, as the CLI tests reach it: the variables the script
/// prints. Unset, the S3 suites skip locally and fail in CI.
enum S3Server {
    static let env = ProcessInfo.processInfo.environment
    static let endpoint = env["ARK_TEST_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    static let bucket = env["ARK_TEST_S3_BUCKET"] ?? "ark-test"
    static let enabled = endpoint != nil || env["CI"] == "true"
    /// The https front end and the CA file that signs its certificate (in the server's data directory).
    static let tlsEndpoint = env["ARK_TEST_S3_TLS_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    static let caFile = env["ARK_TEST_S3_CA"].flatMap { $0.isEmpty ? nil : $0 }
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    struct NotRunning: Error, CustomStringConvertible {
        var description: String {
            "ARK_TEST_S3_ENDPOINT is not set: run `eval \"$(scripts/s3-server.sh start)\"` (CI=true requires the server)"
        }
    }

    /// The https endpoint and the CA's PEM bytes (copied into a test's own directory: tests read
    /// nothing outside the repository and their temporary directories).
    static func requireTLS() throws -> (endpoint: String, ca: Data) {
        guard let tlsEndpoint, let caFile, let ca = FileManager.default.contents(atPath: caFile) else { throw NotRunning() }
        return (tlsEndpoint, ca)
    }

    static func requireEndpoint() throws -> String {
        guard let endpoint else { throw NotRunning() }
        return endpoint
    }

    /// An ark.toml with `[store.s3]` under a fresh prefix (plus `extra` lines in [store.s3]).
    static func config(
        endpoint: String? = nil, bucket: String? = nil, prefix: String = "cli-\(UUID().uuidString.prefix(8))/", extra: String = ""
    )
        throws -> String
    {
        """
        [store]
        path = "data"

        [store.s3]
        endpoint = "\(try endpoint ?? requireEndpoint())"
        bucket = "\(bucket ?? Self.bucket)"
        prefix = "\(prefix)"
        \(extra)
        """
    }

    /// Runs scripts/s3-server.sh `argument` (proxy-stop, proxy-start) and waits for it with
    /// waitpid: the servers it starts outlive it, which Foundation's Process does not wait well for.
    static func script(_ argument: String) throws {
        let argv = ["/bin/bash", repoRoot + "/scripts/s3-server.sh", argument]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/bash", nil, nil, &cArgs, environ)
        guard rc == 0 else { throw NotRunning() }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // A proxy that did not come back would fail every later S3 test with a misleading error.
        guard status == 0 else { throw ScriptFailed(argument: argument, status: status) }
    }

    /// The pid of the test server's S3 proxy (the directory is `ARK_S3_DIR`, else the script's
    /// default), checked against its command line: only ever that process is stopped.
    static func proxyPid() throws -> pid_t {
        let dir = env["ARK_S3_DIR"] ?? repoRoot + "/.build/s3-server"
        let text = try String(contentsOfFile: dir + "/run/proxy.pid", encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw NotRunning() }
        let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        guard cmdline.contains(dir + "/etc/proxy-server.conf") else { throw NotTheProxy(pid: pid, cmdline: cmdline) }
        return pid
    }

    struct NotTheProxy: Error, CustomStringConvertible {
        var pid: pid_t
        var cmdline: String
        var description: String { "pid \(pid) is not the test server's S3 proxy: \(cmdline)" }
    }

    struct ScriptFailed: Error, CustomStringConvertible {
        var argument: String
        var status: Int32
        var description: String { "scripts/s3-server.sh \(argument) failed (wait status \(status))" }
    }
}
