import ArkCore

/// Why an S3 request failed, before it becomes an `ArkError`: the server's answer (status and
/// the error document's code and message) or a transport failure (refused, timed out, reset).
package enum S3Failure: Error, Sendable, Equatable {
    /// The server answered with an error status; `code` and `message` come from its XML body.
    case server(status: Int, code: String?, message: String?)
    /// No usable answer: connection refused, DNS, timeout, reset. `detail` says which.
    case transport(String)

    /// Worth another attempt: 5xx, throttling (429, SlowDown), request timeouts, any transport failure.
    package var isTransient: Bool {
        switch self {
        case .server(let status, let code, _):
            return status >= 500 || status == 429 || status == 408 || code == "SlowDown" || code == "RequestTimeout"
                || code == "InternalError"
        case .transport: return true
        }
    }

    /// The S3 error code, if the server gave one (`NoSuchKey`, `AccessDenied`, ...).
    package var code: String? {
        if case .server(_, let code, _) = self { return code }
        return nil
    }

    package var status: Int? {
        if case .server(let status, _, _) = self { return status }
        return nil
    }

    /// `NoSuchKey: The specified key does not exist.` or `HTTP 404` or the transport detail.
    package var summary: String {
        switch self {
        case .server(let status, let code, let message):
            switch (code, message) {
            case (let code?, let message?) where !message.isEmpty: return "\(code): \(message)"
            case (let code?, _): return "\(code) (HTTP \(status))"
            default: return "HTTP \(status)"
            }
        case .transport(let detail): return detail
        }
    }

    /// The credentials were refused (as opposed to the bucket or the endpoint being wrong).
    package var isCredentialError: Bool {
        ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed"]
            .contains(code ?? "") || status == 401 || (status == 403 && code == nil)
    }
}

extension ArkError {
    /// `S3 GET bucket/key failed after 5 attempts: NoSuchBucket: ...` or `S3 GET bucket/key gave up
    /// at its 30 s deadline after 2 attempts: no answer from ...` as an `ArkError` (`.missing` for a
    /// key that does not exist, `.io` otherwise: EIO through the mount).
    /// `deadline`: the call stopped because its time (this long) ran out, not its attempts.
    static func s3(
        operation: String, target: String, failure: S3Failure, attempts: Int, deadline: Duration? = nil, location: String
    ) -> ArkError {
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        let verb = deadline.map { "gave up at its \($0.shortText) deadline" } ?? "failed"
        let code: ArkError.Code
        switch failure {
        case .server(let status, let s3code, _) where status == 404 && (s3code == nil || s3code == "NoSuchKey"): code = .missing
        case .transport: code = .io
        default: code = .io
        }
        return ArkError(code, "S3 \(operation) \(target) \(verb)\(tries): \(failure.summary)", context: location)
    }
}
