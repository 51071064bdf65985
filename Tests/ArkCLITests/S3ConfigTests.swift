import Foundation
import Testing

/// `[store.s3]` in ark.toml: strict keys, credentials only from the environment, and a one-line
/// error at start naming what is wrong (endpoint, bucket or credentials) before anything is written.
@Suite(.serialized, .enabled(if: S3Server.enabled, "ARK_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)"))
struct S3ConfigTests {
    /// Runs `ark id` with `toml` as ark.toml and returns the result and whether the store was created.
    func runID(_ toml: String, env: [String: String] = [:]) throws -> (ArkProcess.Result, storeCreated: Bool) {
        let dir = TempDir("ark-s3cfg")
        try dir.write("ark.toml", toml)
        let r = try ArkProcess.run(["id"], cwd: dir.path, env: env)
        return (r, FileManager.default.fileExists(atPath: dir.file("data")))
    }

    func expectOneLineError(_ r: ArkProcess.Result, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!r.ok, sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.stderr.contains(f), "missing '\(f)' in: \(r.stderr)", sourceLocation: sourceLocation) }
    }

    @Test func aWorkingBucketOpensTheStore() throws {
        let (r, created) = try runID(try S3Server.config())
        #expect(r.ok, "\(r.stderr)")
        #expect(created)
        #expect(r.stdout.count >= 64)
    }

    @Test func refusedEndpoint() throws {
        let (r, created) = try runID(try S3Server.config(endpoint: "http://127.0.0.1:1"))
        expectOneLineError(r, ["[store.s3] endpoint http://127.0.0.1:1 is unreachable", "connection refused"])
        #expect(!created)
    }

    @Test func missingBucket() throws {
        let (r, created) = try runID(try S3Server.config(bucket: "no-such-ark-bucket"))
        expectOneLineError(r, ["bucket 'no-such-ark-bucket' does not exist", "NoSuchBucket"])
        #expect(!created)
    }

    @Test(arguments: [
        ("AWS_SECRET_ACCESS_KEY", "wrong-secret", "SignatureDoesNotMatch"),
        // Swift's tempauth answers an unknown access key as a bad signature (AWS says InvalidAccessKeyId).
        ("AWS_ACCESS_KEY_ID", "nobody:nobody", "SignatureDoesNotMatch")
    ])
    func wrongCredentials(variable: String, value: String, code: String) throws {
        let (r, created) = try runID(try S3Server.config(), env: [variable: value])
        expectOneLineError(r, ["[store.s3] credentials refused", code, "AWS_ACCESS_KEY_ID"])
        #expect(!created)
    }

    @Test func missingCredentials() throws {
        let (r, created) = try runID(try S3Server.config(), env: ["AWS_SECRET_ACCESS_KEY": ""])
        expectOneLineError(r, ["AWS_SECRET_ACCESS_KEY is not set"])
        #expect(!created)
    }

    @Test(arguments: ["access_key_id = \"x\"", "secret_access_key = \"y\"", "session_token = \"z\""])
    func credentialsInTheFileAreRefused(line: String) throws {
        let (r, created) = try runID(try S3Server.config(extra: line))
        expectOneLineError(r, ["ark.toml:", "store.s3.", "AWS_ACCESS_KEY_ID", "environment"])
        #expect(r.status == 2)
        #expect(!created)
    }

    @Test(arguments: [
        ("colour = \"blue\"", "store.s3.colour: unknown key"),
        ("addressing = \"sideways\"", "store.s3.addressing: must be \"path\" or \"virtual\""),
        ("region = \"Not A Region\"", "store.s3.region"),
        ("timeout = 0", "store.s3.timeout: must be a positive number of seconds"),
        ("timeout = -5", "store.s3.timeout: must be a positive number of seconds"),
        ("timeout = \"fast\"", "store.s3.timeout: must be a number of seconds, not string"),
        ("timeout = nan", "store.s3.timeout: must be a positive number of seconds")
    ])
    func badKeys(line: String, message: String) throws {
        let (r, _) = try runID(try S3Server.config(extra: line))
        expectOneLineError(r, [message])
        #expect(r.status == 2)
    }

    @Test(arguments: ["timeout = 3", "timeout = 0.5", "timeout = 120"])
    func aTimeoutInSecondsIsAccepted(line: String) throws {
        let (r, created) = try runID(try S3Server.config(extra: line))
        #expect(r.ok, "\(r.stderr)")
        #expect(created)
    }

    @Test func badEndpointAndBucketValues() throws {
        let (r1, _) = try runID(try S3Server.config(endpoint: "ftp://example.com"))
        expectOneLineError(r1, ["store.s3.endpoint", "http:// or https://"])
        let (r2, _) = try runID(try S3Server.config(bucket: "Bad_Bucket"))
        expectOneLineError(r2, ["store.s3.bucket", "not a valid bucket name"])
        let (r3, _) = try runID("[store.s3]\nbucket = \"b-1\"\n")
        expectOneLineError(r3, ["store.s3.endpoint: is required"])
    }
}
