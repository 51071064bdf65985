import ArkCore
import AsyncHTTPClient
import Foundation
import Testing

@testable import ArkS3

/// The real S3 server that scripts/s3-server.sh starts (OpenStack Swift with s3api), found
/// through the variables the script prints. Unset: the suites skip locally, and fail in CI.
enum S3TestServer {
    static let env = ProcessInfo.processInfo.environment
    static let endpoint = env["ARK_TEST_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    static let bucket = env["ARK_TEST_S3_BUCKET"] ?? "ark-test"
    static let inCI = env["CI"] == "true"
    /// The suites run when the server is configured, and always in CI (where a missing server fails them).
    static let enabled = endpoint != nil || inCI
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// One HTTP client for every test in the process (shut down by the process's exit).
    static let http = S3HTTP.makeClient(S3RetryPolicy(requestTimeout: .seconds(30), connectTimeout: .seconds(3)))

    /// The configuration for the test server, or a failure saying how to start it.
    static func configuration(
        prefix: String = "t-\(UUID().uuidString.prefix(8))/", bucket: String? = nil, secret: String? = nil,
        endpoint override: String? = nil, retry: S3RetryPolicy = S3RetryPolicy(maxAttempts: 3, requestTimeout: .seconds(30)),
        partSize: Int = 5 << 20, singlePutLimit: Int? = nil
    ) throws -> S3Configuration {
        guard let endpoint = override ?? endpoint else {
            throw ArkError(
                .config, "ARK_TEST_S3_ENDPOINT is not set: run `eval \"$(scripts/s3-server.sh start)\"` first (CI=true requires the server)"
            )
        }
        let creds = try S3Configuration.credentialsFromEnvironment()
        return S3Configuration(
            endpoint: URL(string: endpoint)!, bucket: bucket ?? Self.bucket, prefix: prefix, region: "us-east-1", addressing: .path,
            credentials: S3Credentials(accessKeyID: creds.accessKeyID, secretAccessKey: secret ?? creds.secretAccessKey),
            retry: retry, partSize: partSize, singlePutLimit: singlePutLimit ?? partSize, uploadConcurrency: 3)
    }

    static func client(_ configuration: S3Configuration) -> S3Client { S3Client(configuration: configuration, http: http) }

    /// `count` pseudo-random bytes from `seed`.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return out
    }
}
