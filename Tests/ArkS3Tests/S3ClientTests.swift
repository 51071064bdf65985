import ArkCore
import Foundation
import NIOCore
import Testing

@testable import ArkS3

#if canImport(Glibc)
    import Glibc
#endif

/// S3Client and S3PackStorage against the real server from scripts/s3-server.sh.
@Suite(.serialized, .enabled(if: S3TestServer.enabled, "ARK_TEST_S3_ENDPOINT is not set (run scripts/s3-server.sh start)"))
struct S3ClientTests {
    @Test func putGetHeadDelete() throws {
        let storage = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration()))
        let data = S3TestServer.bytes(100_000, seed: 1)
        try storage.put(key: "heads/a b+c", bytes: data)
        #expect(try storage.get(key: "heads/a b+c") == data)
        #expect(try storage.size(key: "heads/a b+c") == 100_000)
        try storage.delete(key: "heads/a b+c")
        #expect(try storage.get(key: "heads/a b+c") == nil)
        #expect(try storage.size(key: "heads/a b+c") == nil)
        try storage.delete(key: "heads/a b+c")  // deleting what is gone is not an error
    }

    @Test func rangedReads() throws {
        let storage = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration()))
        let data = S3TestServer.bytes(70_000, seed: 2)
        try storage.put(key: "p", bytes: data)
        #expect(try storage.read(key: "p", offset: 1000, length: 4096) == Array(data[1000..<5096]))
        #expect(try storage.read(key: "p", offset: 0, length: 1) == [data[0]])
        #expect(try storage.read(key: "p", offset: 69_000, length: 4096) == Array(data[69_000...]))  // short at the end
        #expect(try storage.read(key: "p", offset: 70_000, length: 10) == [])
        let missing = #expect(throws: ArkError.self) { try storage.read(key: "nope", offset: 0, length: 10) }
        #expect(missing?.code == .missing)
        #expect(missing?.message.contains("nope") == true)
        #expect(missing?.message.contains("NoSuchKey") == true)
    }

    /// A run of records read with one GET arrives in its parts, each exactly its slice of the
    /// object, however the body's pieces fall across them; short only at the object's end.
    @Test func rangedReadsInParts() throws {
        let storage = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration()))
        let data = S3TestServer.bytes(3 << 20, seed: 7)
        try storage.put(key: "runs", bytes: data)
        var lengths: [Int] = []
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15  // a fixed sequence (LCG), so a failure repeats
        while lengths.reduce(0, +) < (3 << 20) - 300_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            lengths += [1 + Int(state >> 33) % 200_000, 48]
        }
        let offset = 1234
        let parts = try storage.read(key: "runs", offset: UInt64(offset), lengths: lengths)
        #expect(parts.count == lengths.count)
        var at = offset
        for (part, n) in zip(parts, lengths) {
            #expect(part == Array(data[at..<at + n]))
            at += n
        }
        // Past the end: the parts that start before it, the last one short.
        let end = try storage.read(key: "runs", offset: UInt64((3 << 20) - 10_000), lengths: [8_000, 48, 4_000, 100])
        #expect(end.map(\.count) == [8_000, 48, 1_952])
        #expect(end.flatMap { $0 } == Array(data[((3 << 20) - 10_000)...]))
        #expect(try storage.read(key: "runs", offset: 3 << 20, lengths: [10, 20]).isEmpty)
    }

    @Test func listPaginatesInKeyOrder() throws {
        let config = try S3TestServer.configuration()
        let client = S3TestServer.client(config)
        let storage = S3PackStorage(client: client)
        let keys = (0..<25).map { String(format: "packs/%02d", $0) }
        for key in keys.shuffled() { try storage.put(key: key, bytes: [UInt8(key.suffix(2))!]) }
        try storage.put(key: "other/x", bytes: [1, 2])
        let firstPage = try client.listPage(prefix: config.prefix + "packs/", maxKeys: 10)
        #expect(firstPage.objects.count == 10)
        #expect(firstPage.nextContinuationToken != nil)
        let paged = try client.listAll(prefix: config.prefix + "packs/", pageSize: 10)
        #expect(paged.map(\.key) == keys.map { config.prefix + $0 })
        let listed = try storage.list(prefix: "packs/")
        #expect(listed == keys.map { PackStorageEntry(key: $0, size: 1) })
        #expect(try storage.list(prefix: "").count == 26)
    }

    /// A file over the part size goes up in parts (three here, the last short) and reads back whole.
    @Test func multipartUploadOfAFile() throws {
        let storage = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration(partSize: 5 << 20)))
        let data = S3TestServer.bytes((10 << 20) + 12_345, seed: 3)
        let path = NSTemporaryDirectory() + "ark-s3-mp-\(UUID().uuidString)"
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(data + [9, 9, 9])))
        try storage.upload(key: "packs/big", fromFile: path, length: UInt64(data.count))  // not the 3 trailing bytes
        #expect(try storage.size(key: "packs/big") == UInt64(data.count))
        #expect(try storage.get(key: "packs/big") == data)
        #expect(try storage.read(key: "packs/big", offset: (5 << 20) - 10, length: 20) == Array(data[((5 << 20) - 10)..<((5 << 20) + 10)]))
        // Small files go up in one PUT.
        try storage.upload(key: "packs/small", fromFile: path, length: 1000)
        #expect(try storage.get(key: "packs/small") == Array(data[..<1000]))
    }

    /// A file over the part size but within `singlePutLimit` (a bucket store's pack) goes up in
    /// one PUT, not as a multipart object (whose ETag S3 servers mark with "-<parts>").
    @Test func filesWithinTheSinglePutLimitGoUpInOnePut() throws {
        let key = "packs/one"
        func etag(_ client: S3Client, _ key: String) throws -> String {
            let response = try client.send(.HEAD, key: client.configuration.prefix + key, operation: "HEAD")
            return try #require(response.headers.first(name: "ETag"))
        }
        let data = S3TestServer.bytes((10 << 20) + 5, seed: 5)
        let path = NSTemporaryDirectory() + "ark-s3-one-\(UUID().uuidString)"
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(data)))
        let single = S3TestServer.client(try S3TestServer.configuration(partSize: 5 << 20, singlePutLimit: 16 << 20))
        try S3PackStorage(client: single).upload(key: key, fromFile: path, length: UInt64(data.count))
        #expect(try !etag(single, key).contains("-"))
        #expect(try S3PackStorage(client: single).get(key: key) == data)
        let parts = S3TestServer.client(try S3TestServer.configuration(prefix: single.configuration.prefix, partSize: 5 << 20))
        try S3PackStorage(client: parts).upload(key: key, fromFile: path, length: UInt64(data.count))
        #expect(try etag(parts, key).hasSuffix("-3\""))
        // A file shorter than the length to send is an error before anything is sent.
        let short = #expect(throws: ArkError.self) {
            try S3PackStorage(client: single).upload(key: "packs/short", fromFile: path, length: UInt64(data.count) + 1)
        }
        #expect(short?.message.contains("is shorter than") == true)
        #expect(try S3PackStorage(client: single).size(key: "packs/short") == nil)
    }

    /// Over the https front end uploads go with `UNSIGNED-PAYLOAD`, which the server accepts:
    /// a multipart upload, a file in one PUT and a small PUT read back whole.
    @Test func unsignedUploadsOverHTTPSReadBack() throws {
        let endpoint = try #require(S3TestServer.env["ARK_TEST_S3_TLS_ENDPOINT"], "scripts/s3-server.sh prints ARK_TEST_S3_TLS_ENDPOINT")
        let ca = try #require(S3TestServer.env["ARK_TEST_S3_CA"], "scripts/s3-server.sh prints ARK_TEST_S3_CA")
        var configuration = try S3TestServer.configuration(endpoint: endpoint, partSize: 5 << 20)
        configuration.caFile = ca
        let http = S3HTTP.makeClient(configuration.retry, caFile: ca)
        defer { try? http.syncShutdown() }
        let client = S3Client(configuration: configuration, http: http)
        #expect(client.payloadHash(ByteBuffer(bytes: [1])) == SigV4Signer.unsignedPayload)
        let storage = S3PackStorage(client: client)
        let data = S3TestServer.bytes((10 << 20) + 777, seed: 4)
        let path = NSTemporaryDirectory() + "ark-s3-tls-\(UUID().uuidString)"
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(data)))
        try storage.upload(key: "packs/tls", fromFile: path, length: UInt64(data.count))
        #expect(try storage.get(key: "packs/tls") == data)
        // The same file in one PUT, its body streamed from the file a piece at a time.
        var oneConfiguration = configuration
        oneConfiguration.singlePutLimit = 16 << 20
        let one = S3PackStorage(client: S3Client(configuration: oneConfiguration, http: http))
        try one.upload(key: "packs/tls-one", fromFile: path, length: UInt64(data.count))
        #expect(try one.get(key: "packs/tls-one") == data)
        // A body this node cannot read (the file ends before the length sent) is this node's
        // error, thrown as it is: not retried, not a server failure that trips the breaker.
        let started = ContinuousClock.now
        let unreadable = #expect(throws: ArkError.self) {
            _ = try one.client.send(
                .PUT, key: configuration.prefix + "packs/unreadable",
                file: FileBody(file: try ReadOnlyFile(path: path), length: data.count + (1 << 20)), operation: "PUT")
        }
        #expect(unreadable?.message.contains("is shorter than") == true, "\(String(describing: unreadable))")
        #expect(unreadable?.message.contains("S3") == false)
        #expect(ContinuousClock.now - started < .seconds(5), "not retried until the deadline")
        #expect(try one.size(key: "packs/unreadable") == nil)
        try storage.put(key: "heads/tls", bytes: Array(data[..<1000]))
        #expect(try storage.read(key: "heads/tls", offset: 10, length: 20) == Array(data[10..<30]))
    }

    @Test func errorsNameTheOperationKeyAndS3Code() throws {
        let badBucket = S3TestServer.client(try S3TestServer.configuration(bucket: "no-such-bucket-ark"))
        let e1 = #expect(throws: ArkError.self) { try badBucket.putObject(key: "k", bytes: ByteBuffer(string: "x")) }
        #expect(e1?.message.contains("PUT no-such-bucket-ark/") == true)
        #expect(e1?.message.contains("NoSuchBucket") == true)
        let badSecret = S3TestServer.client(try S3TestServer.configuration(secret: "wrong"))
        let e2 = #expect(throws: ArkError.self) { _ = try badSecret.getObject(key: "k") }
        #expect(e2?.message.contains("SignatureDoesNotMatch") == true)
        #expect(e2?.message.contains("after") == false)  // a 4xx is not retried
    }

    @Test func bucketCheckSaysWhichIsWrong() throws {
        let fast = S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(50), requestTimeout: .seconds(5))
        try S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration())).checkBucket()
        let noBucket = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration(bucket: "missing-ark-bucket")))
        let e1 = #expect(throws: ArkError.self) { try noBucket.checkBucket() }
        #expect(e1?.message.contains("bucket 'missing-ark-bucket' does not exist") == true)
        let badSecret = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration(secret: "wrong")))
        let e2 = #expect(throws: ArkError.self) { try badSecret.checkBucket() }
        #expect(e2?.message.contains("credentials refused") == true)
        #expect(e2?.message.contains("SignatureDoesNotMatch") == true)
        let closed = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration(endpoint: "http://127.0.0.1:1", retry: fast)))
        let e3 = #expect(throws: ArkError.self) { try closed.checkBucket() }
        #expect(e3?.message.contains("endpoint http://127.0.0.1:1 is unreachable") == true)
        #expect(e3?.message.contains("connection refused") == true)
        #expect(e3?.code == .config)
    }

    /// A closed port: every attempt is refused, the call gives up after its attempts with a clear error.
    @Test func refusedConnectionsGiveUpAfterTheRetries() throws {
        let policy = S3RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .milliseconds(400), requestTimeout: .seconds(5))
        let storage = S3PackStorage(
            client: S3TestServer.client(try S3TestServer.configuration(endpoint: "http://127.0.0.1:1", retry: policy)))
        let start = ContinuousClock.now
        let e = #expect(throws: ArkError.self) { _ = try storage.read(key: "packs/x", offset: 0, length: 10) }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(e?.message.contains("S3 GET") == true)
        #expect(e?.message.contains("packs/x") == true)
        #expect(e?.message.contains("after 4 attempts") == true)
        #expect(e?.message.contains("connection refused") == true)
    }

    /// A server that accepts the connection and never answers: each attempt ends at its deadline.
    @Test func silentServerHitsTheDeadline() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(fd, 16) == 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        let policy = S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(100), requestTimeout: .milliseconds(700))
        let storage = S3PackStorage(
            client: S3TestServer.client(try S3TestServer.configuration(endpoint: "http://127.0.0.1:\(port)", retry: policy)))
        let start = ContinuousClock.now
        let e = #expect(throws: ArkError.self) { _ = try storage.get(key: "heads/x") }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(e?.message.contains("after 2 attempts") == true)
    }

    /// The S3 front end frozen mid-way (SIGSTOP: connections open, nothing answers): calls end at
    /// their deadline with a clear error, and a reader that is still retrying gets its bytes once
    /// the server is back (SIGCONT).
    @Test func readsWorkAgainWhenTheServerIsBack() throws {
        let storage = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration()))
        let prefix = storage.client.configuration.prefix
        let data = S3TestServer.bytes(50_000, seed: 4)
        try storage.put(key: "packs/r", bytes: data)
        let serverDir = ProcessInfo.processInfo.environment["ARK_S3_DIR"] ?? S3TestServer.repoRoot.path + "/.build/s3-server"
        let pidText = try String(contentsOfFile: serverDir + "/run/proxy.pid", encoding: .utf8)
        let pid = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Only ever stop the test server's proxy, never whatever process now has a stale pid.
        let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        try #require(cmdline.contains(serverDir + "/etc/proxy-server.conf"), "pid \(pid) is not the test proxy: \(cmdline)")
        #expect(kill(pid, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        let quickPolicy = S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(50), requestTimeout: .seconds(1))
        let quick = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration(prefix: prefix, retry: quickPolicy)))
        let start = ContinuousClock.now
        let e = #expect(throws: ArkError.self) { _ = try quick.read(key: "packs/r", offset: 0, length: 100) }
        #expect(ContinuousClock.now - start < .seconds(6))
        #expect(e?.message.contains("after 2 attempts") == true)
        #expect(e?.code == .io)
        let patientPolicy = S3RetryPolicy(
            maxAttempts: 40, baseDelay: .milliseconds(100), maxDelay: .milliseconds(300), requestTimeout: .seconds(1))
        let patient = S3PackStorage(client: S3TestServer.client(try S3TestServer.configuration(prefix: prefix, retry: patientPolicy)))
        let result = ResultBox()
        let reader = Thread { result.set(Result { try patient.read(key: "packs/r", offset: 10, length: 1000) }) }
        reader.start()
        Thread.sleep(forTimeInterval: 1.5)
        #expect(kill(pid, SIGCONT) == 0)
        resumed = true
        #expect(try result.wait(timeout: 60).get() == Array(data[10..<1010]))
    }
}

/// A result handed from a thread to the test.
final class ResultBox: @unchecked Sendable {  // @unchecked: `value` is guarded by `condition`
    private let condition = NSCondition()
    private var value: Result<[UInt8], any Error>?

    func set(_ v: Result<[UInt8], any Error>) {
        condition.lock()
        value = v
        condition.signal()
        condition.unlock()
    }

    func wait(timeout: TimeInterval) throws -> Result<[UInt8], any Error> {
        condition.lock()
        defer { condition.unlock() }
        let until = Date(timeIntervalSinceNow: timeout)
        while value == nil { if !condition.wait(until: until) { break } }
        guard let value else { throw ArkError(.timeout, "no result within \(timeout) s") }
        return value
    }
}
