import ArkCore
import Foundation
import Testing

@testable import ArkS3

#if canImport(Glibc)
    import Glibc
#endif

/// Every call ends by its deadline, all attempts together: no S3 server needed, a loopback
/// listener that takes connections and never answers stands in for a frozen one.
@Suite(.serialized)
struct S3DeadlineTests {
    static func storage(port: UInt16, policy: S3RetryPolicy) -> S3PackStorage {
        let configuration = S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, bucket: "ark-test", prefix: "deadline/",
            credentials: S3Credentials(accessKeyID: "test", secretAccessKey: "test"), retry: policy)
        return S3PackStorage(client: S3Client(configuration: configuration, http: S3TestServer.http))
    }

    /// Twenty attempts of 700 ms would take 14 s; the 2 s call deadline ends the call after about
    /// three, with one line naming the call, its deadline and what the server did (nothing).
    @Test func aSilentServerFailsTheCallAtItsDeadline() throws {
        let listener = try SilentListener()
        let policy = S3RetryPolicy(
            maxAttempts: 20, baseDelay: .milliseconds(50), maxDelay: .milliseconds(100), requestTimeout: .milliseconds(700),
            callDeadline: .seconds(2))
        let storage = Self.storage(port: listener.port, policy: policy)
        let start = ContinuousClock.now
        let e = #expect(throws: ArkError.self) { _ = try storage.read(key: "packs/x.pack", offset: 0, length: 4096) }
        let took = ContinuousClock.now - start
        // A retry is not started unless its pause (at most 100 ms) and 100 ms more still fit.
        #expect(took >= .milliseconds(1750), "ended well before its deadline: \(took)")
        #expect(took < .seconds(8), "took \(took) (without the deadline: about 14 s)")
        #expect(e?.code == .io)
        #expect(
            e?.message.contains("S3 GET ark-test/deadline/packs/x.pack gave up at its 2 s deadline after") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("no answer from http://127.0.0.1:\(listener.port)") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("\n") == false)
    }

    /// The breaker is kept: right after a call gave up, the next makes one attempt (one request
    /// timeout), not a whole deadline's worth.
    @Test func theBreakerStillShortensTheNextCall() throws {
        let listener = try SilentListener()
        let policy = S3RetryPolicy(
            maxAttempts: 20, baseDelay: .milliseconds(50), maxDelay: .milliseconds(100), requestTimeout: .milliseconds(500),
            callDeadline: .seconds(3))
        let storage = Self.storage(port: listener.port, policy: policy)
        #expect(throws: ArkError.self) { _ = try storage.size(key: "heads/a") }
        let start = ContinuousClock.now
        let e = #expect(throws: ArkError.self) { _ = try storage.size(key: "heads/b") }
        #expect(ContinuousClock.now - start < .milliseconds(2500))
        #expect(e?.message.contains("S3 HEAD ark-test/deadline/heads/b failed: no answer") == true, "\(e?.message ?? "")")
    }

    /// While one call finds out whether the server is back (one attempt), calls made meanwhile
    /// wait for that attempt and fail with it, instead of each spending its own deadline: a
    /// frozen server's many pending reads end together.
    @Test func whileOneCallProbesTheOthersWaitForIt() throws {
        let listener = try SilentListener()
        let policy = S3RetryPolicy(
            maxAttempts: 20, baseDelay: .milliseconds(50), maxDelay: .milliseconds(100), requestTimeout: .milliseconds(1500),
            callDeadline: .seconds(6))
        let storage = Self.storage(port: listener.port, policy: policy)
        #expect(throws: ArkError.self) { _ = try storage.size(key: "heads/a") }
        let probe = Thread { _ = try? storage.size(key: "heads/probe") }
        probe.start()
        Thread.sleep(forTimeInterval: 0.3)
        let start = ContinuousClock.now
        let e = #expect(throws: ArkError.self) { _ = try storage.read(key: "packs/y.pack", offset: 0, length: 4096) }
        // The probe's one attempt ends 1.5 s after it started; this call's own deadline is 6 s.
        #expect(ContinuousClock.now - start < .milliseconds(1700))
        #expect(e?.code == .io)
        #expect(e?.message.contains("S3 GET ark-test/deadline/packs/y.pack failed:") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("has not answered for") == true, "\(e?.message ?? "")")
    }

    /// Large transfers get time in proportion to their size (at `minimumRate`), on top of the small-request deadline.
    @Test func largeTransfersGetMoreTime() {
        let policy = S3RetryPolicy()
        #expect(policy.deadline(forBytes: 0) == .seconds(30))
        #expect(policy.deadline(forBytes: 16 << 20) == .seconds(62))  // a 16 MiB part at 512 KiB/s: 32 s more
        #expect(policy.attemptTimeout(forBytes: 16 << 20) == .seconds(52))
        #expect(policy.attemptTimeout(forBytes: 4096) < .seconds(21))
    }
}

/// A listening TCP socket on 127.0.0.1 (the kernel completes connections; nothing reads or answers).
final class SilentListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw ArkError(.io, "socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, size) } }
        guard bound == 0, listen(sock, 64) == 0 else {
            close(sock)
            throw ArkError(.io, "bind/listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        var len = size
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        fd = sock
        port = UInt16(bigEndian: addr.sin_port)
    }

    deinit { close(fd) }
}
