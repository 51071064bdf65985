import ArkCore
import Foundation

/// How the bucket is named in a URL: `http://host/bucket/key` (path style, the default for a
/// custom endpoint) or `http://bucket.host/key` (virtual-hosted, what AWS prefers).
package enum S3Addressing: String, Sendable, CaseIterable {
    case path
    case virtual
}

/// Retries and deadlines: a transient failure (5xx, throttling, timeout, refused or reset
/// connection) is tried again after `baseDelay * 2^n` (capped at `maxDelay`, with full jitter),
/// at most `maxAttempts` times in all; each attempt must finish within `requestTimeout`, and the
/// whole call (every attempt and pause together) within `callDeadline`. A request that moves
/// `n` bytes (an upload's body, a ranged read) gets `n / minimumRate` seconds more on both.
package struct S3RetryPolicy: Sendable, Equatable {
    package var maxAttempts: Int
    package var baseDelay: Duration
    package var maxDelay: Duration
    package var requestTimeout: Duration
    package var connectTimeout: Duration
    package var callDeadline: Duration
    /// Bytes per second a large transfer may be as slow as before its time runs out.
    package var minimumRate: Int

    package init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(5),
        requestTimeout: Duration = .seconds(20), connectTimeout: Duration = .seconds(5), callDeadline: Duration = .seconds(30),
        minimumRate: Int = 512 << 10
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.callDeadline = callDeadline
        self.minimumRate = max(1, minimumRate)
    }

    /// The policy of `[store.s3] timeout`: a small request's call ends within `deadline` (all
    /// attempts and pauses), each attempt within two thirds of it (20 s of 30 s), connecting
    /// within 5 s or the deadline if shorter; large transfers keep their size allowance.
    package init(deadline: Duration) {
        let attempt = deadline * 2 / 3
        self.init(requestTimeout: attempt, connectTimeout: min(.seconds(5), attempt), callDeadline: deadline)
    }

    /// The time a request moving `bytes` bytes gets beyond a small request's.
    package func allowance(forBytes bytes: Int) -> Duration {
        .nanoseconds(Int64(Double(max(0, bytes)) / Double(minimumRate) * 1e9))
    }

    /// How long one call moving `bytes` bytes may take, all attempts together.
    package func deadline(forBytes bytes: Int) -> Duration { callDeadline + allowance(forBytes: bytes) }

    /// How long one attempt moving `bytes` bytes may take.
    package func attemptTimeout(forBytes bytes: Int) -> Duration { requestTimeout + allowance(forBytes: bytes) }

    /// The pause before attempt `attempt + 1` (attempt counts from 1): uniform in [0, cap].
    package func delay(after attempt: Int) -> Duration {
        let cap = min(maxDelay, baseDelay * (1 << min(attempt - 1, 20)))
        let nanos = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: (nanos / 2)...max(nanos / 2, nanos)))
    }
}

/// Where the bucket is and how to reach it.
package struct S3Configuration: Sendable, Equatable {
    /// `http://127.0.0.1:8480` or `https://s3.eu-central-1.amazonaws.com`: scheme, host, optional port.
    package var endpoint: URL
    package var bucket: String
    /// Prepended to every key; empty or ending in `/`.
    package var prefix: String
    package var region: String
    package var addressing: S3Addressing
    package var credentials: S3Credentials
    package var retry: S3RetryPolicy
    /// Files larger than `singlePutLimit` go up in parts of this size (at least 5 MiB, S3's
    /// minimum part).
    package var partSize: Int
    /// Files up to this size (and never less than `partSize`; at most S3's 5 GiB for one PUT)
    /// go up in one PUT. A bucket store's packs (16 MiB and one record,
    /// `PackFormat.bucketPackSize`) stay under it: servers keep a multipart object as a
    /// manifest of segments, and OpenStack Swift spent 1.4-2.3x the CPU serving 4 MiB ranged GETs of
    /// such a pack as of one PUT's object (`scripts/bench-s3-ranged-cpu.sh`; docs/benchmarks.md,
    /// "S3: packs in one PUT").
    package var singlePutLimit: Int
    /// Parts uploaded at once (each holds one part in memory).
    package var uploadConcurrency: Int
    /// A PEM file of CA certificates trusted for an https endpoint, besides the system's roots.
    package var caFile: String? = nil

    package init(
        endpoint: URL, bucket: String, prefix: String = "", region: String = "us-east-1", addressing: S3Addressing = .path,
        credentials: S3Credentials, retry: S3RetryPolicy = S3RetryPolicy(), partSize: Int = 8 << 20, singlePutLimit: Int = 128 << 20,
        uploadConcurrency: Int = 4
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.region = region
        self.addressing = addressing
        self.credentials = credentials
        self.retry = retry
        self.partSize = max(5 << 20, partSize)
        self.singlePutLimit = min(singlePutLimit, 5 << 30)
        self.uploadConcurrency = max(1, uploadConcurrency)
    }

    /// `s3://bucket/prefix at http://127.0.0.1:8480`.
    package var location: String {
        "s3://\(bucket)/\(prefix) at \(endpointText)"
    }

    package var endpointText: String {
        var text = "\(endpoint.scheme ?? "http")://\(endpoint.host ?? "")"
        if let port = endpoint.port { text += ":\(port)" }
        return text
    }

    /// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    package static func credentialsFromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> S3Credentials
    {
        let key = env["AWS_ACCESS_KEY_ID"] ?? ""
        let secret = env["AWS_SECRET_ACCESS_KEY"] ?? ""
        if key.isEmpty || secret.isEmpty {
            let missing = key.isEmpty ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"
            throw ArkError(.config, "[store.s3] needs credentials: \(missing) is not set in the environment")
        }
        let token = env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
    }
}
