import ArkCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// `PackStorage` over an S3-compatible bucket: keys are placed under the configured prefix,
/// every call blocks its (non-event-loop) thread until the server has answered.
package final class S3PackStorage: PackStorage {
    package let client: S3Client

    package init(client: S3Client) { self.client = client }

    /// Over the process-wide HTTP client (`S3HTTP.shared`).
    package convenience init(configuration: S3Configuration) {
        self.init(client: S3Client(configuration: configuration, http: S3HTTP.shared(configuration.retry, caFile: configuration.caFile)))
    }

    package var location: String { client.configuration.location }

    private func full(_ key: String) -> String { client.configuration.prefix + key }

    package func upload(key: String, fromFile path: String, length: UInt64) throws {
        try client.uploadFile(key: full(key), path: path, length: length)
    }

    package func put(key: String, bytes: [UInt8]) throws {
        try client.putObject(key: full(key), bytes: ByteBuffer(bytes: bytes))
    }

    package func read(key: String, offset: UInt64, length: Int) throws -> [UInt8] {
        try client.getRange(key: full(key), offset: offset, lengths: [length]).first ?? []
    }

    package func read(key: String, offset: UInt64, lengths: [Int]) throws -> [[UInt8]] {
        try client.getRange(key: full(key), offset: offset, lengths: lengths)
    }

    package func get(key: String) throws -> [UInt8]? {
        try client.getObject(key: full(key)).map { Array($0.readableBytesView) }
    }

    package func size(key: String) throws -> UInt64? {
        try client.headObject(key: full(key))
    }

    package func delete(key: String) throws {
        try client.deleteObject(key: full(key))
    }

    package func list(prefix: String) throws -> [PackStorageEntry] {
        let base = client.configuration.prefix
        return try client.listAll(prefix: base + prefix).map {
            PackStorageEntry(key: String($0.key.dropFirst(base.count)), size: $0.size)
        }
    }

    /// Checks, before anything is written, that the endpoint answers, the bucket exists and the
    /// credentials are accepted (a ListObjectsV2 of one key). Throws a one-line `.config` error
    /// saying which is wrong.
    package func checkBucket() throws {
        let c = client.configuration
        let quick = S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(100), requestTimeout: .seconds(15), connectTimeout: .seconds(5))
        do {
            _ = try client.listPage(prefix: c.prefix, maxKeys: 1, policy: quick)
        } catch let error as ArkError {
            if error.code == .config { throw error }  // already one line about the configuration (an untrusted certificate)
            throw ArkError(.config, S3BucketCheck.explain(error, configuration: c))
        }
    }
}

/// The one-line explanations of a failed bucket check.
enum S3BucketCheck {
    static func explain(_ error: ArkError, configuration c: S3Configuration) -> String {
        let m = error.message
        var detail = m
        if let failed = m.range(of: "failed") ?? m.range(of: "deadline"), let colon = m[failed.upperBound...].range(of: ": ") {
            detail = String(m[colon.upperBound...])
        }
        if m.contains("NoSuchBucket") {
            return "[store.s3] bucket '\(c.bucket)' does not exist at \(c.endpointText) (NoSuchBucket)"
        }
        if ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken", "HTTP 401", "HTTP 403"]
            .contains(where: m.contains)
        {
            return "[store.s3] credentials refused by \(c.endpointText) for bucket '\(c.bucket)': \(detail) "
                + "(check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
        }
        if m.contains("connection refused") || m.contains("cannot resolve") || m.contains("timed out") || m.contains("no answer")
            || m.contains("closed the connection") || m.contains("reset")
        {
            return "[store.s3] endpoint \(c.endpointText) is unreachable: \(detail)"
        }
        return "[store.s3] cannot use bucket '\(c.bucket)' at \(c.endpointText): \(detail)"
    }
}

/// The process-wide HTTP client every `S3PackStorage` shares (one connection pool per process,
/// one per `ca_file` in the rare process with several), on NIO's singleton event loops.
/// `shutdown()` at exit closes its connections.
package enum S3HTTP {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var clients: [String: HTTPClient] = [:]  // by ca_file ("" for none); guarded by `lock`

    /// The shared client, created on first use with the policy's connect timeout.
    package static func shared(_ policy: S3RetryPolicy = S3RetryPolicy(), caFile: String? = nil) -> HTTPClient {
        lock.withLock {
            if let client = clients[caFile ?? ""] { return client }
            let created = makeClient(policy, caFile: caFile)
            clients[caFile ?? ""] = created
            return created
        }
    }

    /// A client of our own (tests make one per suite and shut it down). `caFile`: extra trust
    /// roots for https (checked beforehand with `S3TLS.checkCAFile`).
    package static func makeClient(_ policy: S3RetryPolicy = S3RetryPolicy(), caFile: String? = nil) -> HTTPClient {
        var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        // Retries are ours (with backoff and a deadline); a refused connection fails at once.
        pool.retryConnectionEstablishment = false
        let timeout = HTTPClient.Configuration.Timeout(
            connect: .nanoseconds(policy.connectTimeout.nanoseconds), read: .nanoseconds(policy.requestTimeout.nanoseconds))
        // No redirects: a PUT redirected elsewhere (https to http, another host) would send a
        // pack where the signature does not cover it, and its 2xx would count as stored.
        let configuration = HTTPClient.Configuration(
            tlsConfiguration: S3TLS.clientConfiguration(caFile: caFile), redirectConfiguration: .disallow, timeout: timeout,
            connectionPool: pool, decompression: .disabled)
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// Closes the shared clients' connections, if any were made. Called once at exit.
    package static func shutdown() {
        let current = lock.withLock {
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in current { try? client.syncShutdown() }
    }
}
