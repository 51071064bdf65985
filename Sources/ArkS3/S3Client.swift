import ArkCore
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// An S3 client over async-http-client whose calls block their thread until the server has
/// answered (the callers are BlockingPool, FUSE and command threads, never an event loop: the
/// request runs on the client's event loops and the caller waits on its future). Every call
/// retries transient failures per `S3RetryPolicy` and throws an `ArkError` naming the
/// operation, the key and S3's error code and message when it gives up.
package final class S3Client: Sendable {
    package let configuration: S3Configuration
    let http: HTTPClient
    let signer: SigV4Signer
    let logger = Logger(label: "ark.s3")
    let breaker = S3Breaker()
    /// Threads that upload the parts of multipart uploads (`uploadConcurrency` of them, for
    /// every upload of this client together): each waits on the network for its part.
    let partPool: BlockingPool

    package init(configuration: S3Configuration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.partPool = BlockingPool(threadCount: configuration.uploadConcurrency, name: "ark-s3-parts")
        partPool.start()
    }

    deinit { _ = partPool.shutdown(timeout: 5) }

    /// An answer with a 2xx status (or one the caller accepted).
    package struct Response: Sendable {
        package var status: Int
        package var headers: HTTPHeaders
        package var body: ByteBuffer?
        /// A ranged GET's body in the parts asked for (`RangeCollector`), and the bytes it
        /// sent past them.
        var parts: [[UInt8]] = []
        var extra = 0
        var rangeStart: UInt64?

        package var bytes: [UInt8] { body.map { Array($0.readableBytesView) } ?? [] }
        package var text: String { body.map { String(buffer: $0) } ?? "" }
    }

    /// One S3 request with retries. `key` nil addresses the bucket itself. Statuses in `accept`
    /// are returned as answers rather than thrown (a 404 for HEAD or GET of a missing key).
    /// `expecting` is the size of the answer's body when known (a ranged read): like an upload's
    /// body, it lengthens the call's deadline (`S3RetryPolicy.deadline(forBytes:)`), after which
    /// the call throws whatever attempt it was on.
    package func send(
        _ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [],
        headers extra: [(name: String, value: String)] = [],
        body: ByteBuffer? = nil, file: FileBody? = nil, expecting: Int = 0, operation: String, accept: Set<Int> = [],
        policy: S3RetryPolicy? = nil, collect: (offset: UInt64, lengths: [Int])? = nil
    ) throws -> Response {
        let sent = file?.length ?? body?.readableBytes ?? 0
        var policy = policy ?? configuration.retry
        let target = "\(configuration.bucket)/\(key ?? "")"
        // While the server is known to be unreachable, one call at a time makes one attempt (it
        // finds out whether the server is back) and the others wait for its outcome: a mount's
        // many reads then fail (EIO) together instead of each waiting out an attempt or a
        // backoff in turn, and all go ahead as soon as the server answers again.
        let admission = breaker.admit(waitingAtMost: policy.attemptTimeout(forBytes: max(sent, expecting)))
        switch admission {
        case .normal: break
        case .probe: policy.maxAttempts = 1
        case .reject(let since):
            throw ArkError.s3(
                operation: operation, target: target,
                failure: .transport("\(configuration.endpointText) has not answered for \(since.shortText) (another call just tried it)"),
                attempts: 0, location: configuration.location)
        }
        defer { if case .probe = admission { breaker.probeEnded() } }
        let payloadHash = try file.map { try self.payloadHash($0) } ?? self.payloadHash(body)
        let bytes = max(sent, expecting)
        let budget = policy.deadline(forBytes: bytes)
        let until = ContinuousClock.now + budget
        var attempt = 0
        while true {
            attempt += 1
            let failure: S3Failure
            let timeout = min(policy.attemptTimeout(forBytes: bytes), until - ContinuousClock.now)
            do {
                let response = try attemptOnce(
                    method, key: key, query: query, headers: extra, body: file?.requestBody ?? body.map { .byteBuffer($0) },
                    payloadHash: payloadHash, timeout: timeout, collect: collect)
                breaker.reached()
                if (200..<300).contains(response.status) || accept.contains(response.status) { return response }
                let doc = S3XML(response.text)
                failure = .server(status: response.status, code: doc.first("Code"), message: doc.first("Message"))
            } catch let error as S3Failure {
                // The body could not be read here: this node's disk, not the server.
                if let local = file?.readFailure { throw local }
                failure = error
            }
            let pause = policy.delay(after: attempt)
            // No time left for the pause and another attempt worth making (at least a tenth of a second).
            let outOfTime = ContinuousClock.now + pause + .milliseconds(100) >= until
            guard failure.isTransient, attempt < policy.maxAttempts, !outOfTime else {
                if case .transport = failure { breaker.gaveUp() }
                throw ArkError.s3(
                    operation: operation, target: target, failure: failure, attempts: attempt,
                    deadline: failure.isTransient && attempt < policy.maxAttempts ? budget : nil, location: configuration.location)
            }
            logger.debug("S3 \(operation) \(target): \(failure.summary); retrying in \(pause)")
            Thread.sleep(forTimeInterval: pause.inSeconds)
        }
    }

    /// Signs and sends one attempt, which must end within `timeout`; a transport failure becomes `S3Failure.transport`.
    private func attemptOnce(
        _ method: HTTPMethod, key: String?, query: [(name: String, value: String)], headers extra: [(name: String, value: String)],
        body: HTTPClient.Body?, payloadHash: String, timeout: Duration, collect: (offset: UInt64, lengths: [Int])?
    ) throws -> Response {
        let (url, host, path) = address(key: key, query: query)
        let toSign = SigV4Request(
            method: method.rawValue, path: path, query: query, headers: [("Host", host)] + extra, payloadHash: payloadHash)
        var headers = HTTPHeaders()
        for (name, value) in signer.sign(toSign, at: Date()) { headers.add(name: name, value: value) }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: method, headers: headers, body: body)
        } catch {
            throw ArkError(.config, "S3 endpoint \(configuration.endpointText) gives an invalid URL for \(path): \(error)")
        }
        let deadline = NIODeadline.now() + .nanoseconds(max(0, timeout.nanoseconds))
        do {
            if let collect {
                let c = try http.execute(
                    request: request, delegate: RangeCollector(offset: collect.offset, lengths: collect.lengths), deadline: deadline
                ).wait()
                return Response(
                    status: c.status, headers: c.headers, body: c.other, parts: c.parts, extra: c.extra, rangeStart: c.rangeStart)
            }
            let response = try http.execute(request: request, deadline: deadline).wait()
            return Response(status: Int(response.status.code), headers: response.headers, body: response.body)
        } catch {
            if let detail = S3TLS.untrustedDetail(error) {
                throw ArkError(
                    .config, S3TLS.untrustedMessage(endpoint: configuration.endpointText, caFile: configuration.caFile, detail: detail))
            }
            throw S3Failure.transport(Self.describe(error, endpoint: configuration.endpointText, timeout: timeout))
        }
    }

    /// The URL to send, the Host header and the path to sign, for path-style or virtual-hosted addressing.
    func address(key: String?, query: [(name: String, value: String)]) -> (url: String, host: String, path: String) {
        let endpoint = configuration.endpoint
        let scheme = endpoint.scheme ?? "http"
        var host = endpoint.host ?? "localhost"
        if let port = endpoint.port { host += ":\(port)" }
        var path: String
        switch configuration.addressing {
        case .path: path = "/\(configuration.bucket)" + (key.map { "/\($0)" } ?? "")
        case .virtual:
            host = "\(configuration.bucket).\(host)"
            path = "/" + (key ?? "")
        }
        if key == nil && configuration.addressing == .path { path += "/" }
        let queryText = SigV4Signer.canonicalQuery(query)
        let url = "\(scheme)://\(host)\(SigV4Signer.encodePath(path))" + (queryText.isEmpty ? "" : "?\(queryText)")
        return (url, host, path)
    }

    /// What the signature says of the body: over https, `UNSIGNED-PAYLOAD` (TLS already keeps
    /// the body intact in transit, as AWS's own SDKs reason), so neither ark nor the server
    /// hashes every uploaded byte with SHA-256; over plain http, the body's SHA-256, which the
    /// server checks. A request without a body signs the empty body's hash either way.
    func payloadHash(_ body: ByteBuffer?) -> String {
        guard let body else { return SigV4Signer.emptyPayloadHash }
        return configuration.endpoint.scheme?.lowercased() == "https" ? SigV4Signer.unsignedPayload : Self.sha256Hex(body)
    }

    func payloadHash(_ file: FileBody) throws -> String {
        configuration.endpoint.scheme?.lowercased() == "https" ? SigV4Signer.unsignedPayload : try file.sha256Hex()
    }

    static func sha256Hex(_ buffer: ByteBuffer) -> String {
        buffer.withUnsafeReadableBytes { SHA256.hash(data: $0).lowerHex }
    }

    /// One line for a failure with no usable answer: refused, name not found, timed out, reset.
    static func describe(_ error: any Error, endpoint: String, timeout: Duration) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded: return "no answer from \(endpoint) within \(timeout.shortText)"
            case .connectTimeout: return "connecting to \(endpoint) timed out"
            case .readTimeout: return "\(endpoint) stopped sending (read timeout)"
            case .remoteConnectionClosed: return "\(endpoint) closed the connection"
            default: return "\(endpoint): \(e)"
            }
        }
        let text = String(describing: error)
        if text.contains("connection refused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") {
            return "connection refused by \(endpoint)"
        }
        if text.contains("dns") || text.contains("DNS") || text.contains("resolve") || text.contains("NXDOMAIN") {
            return "cannot resolve the host of \(endpoint)"
        }
        if text.contains("reset") { return "\(endpoint) reset the connection" }
        return "\(endpoint): \(text)"
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// `30 s`, `1.5 s`, `700 ms`.
    var shortText: String {
        let s = inSeconds
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        let tenths = (s * 10).rounded() / 10
        return tenths == tenths.rounded() ? "\(Int(tenths)) s" : "\(tenths) s"
    }
}

/// Remembers that the server could not be reached: after a call gave up on transport failures,
/// for the next `window` one call at a time (the probe) makes a single attempt; calls made
/// meanwhile wait for its outcome and go ahead if it got an answer, else fail at once.
final class S3Breaker: @unchecked Sendable {  // @unchecked: its state is read and written under `condition`
    private let condition = NSCondition()
    private var openedAt: ContinuousClock.Instant?
    private var probing = false
    /// Counts finished probes, so a waiter knows the probe it waited for has ended.
    private var probes = 0
    let window: Duration = .seconds(10)

    enum Admission: Equatable {
        /// The server is not known to be down: the policy's attempts.
        case normal
        /// Down: this call makes one attempt to find out whether it is back.
        case probe
        /// Down, and the probe this call waited for found it still down (it gave up this long ago).
        case reject(since: Duration)
    }

    var isOpen: Bool {
        condition.lock()
        defer { condition.unlock() }
        return openLocked
    }

    private var openLocked: Bool {
        guard let openedAt else { return false }
        return ContinuousClock.now - openedAt < window
    }

    /// How this call may proceed; waits (at most `limit`) while another call probes.
    func admit(waitingAtMost limit: Duration) -> Admission {
        condition.lock()
        defer { condition.unlock() }
        guard openLocked else { return .normal }
        if !probing {
            probing = true
            return .probe
        }
        let generation = probes
        let until = Date(timeIntervalSinceNow: limit.inSeconds)
        while probes == generation, condition.wait(until: until) {}
        guard openLocked, let openedAt else { return .normal }
        return .reject(since: ContinuousClock.now - openedAt)
    }

    func probeEnded() {
        condition.lock()
        probing = false
        probes += 1
        condition.broadcast()
        condition.unlock()
    }

    func gaveUp() {
        condition.lock()
        openedAt = .now
        condition.unlock()
    }

    func reached() {
        condition.lock()
        openedAt = nil
        condition.unlock()
    }
}
