import Foundation
import NIOCore
import Testing

@testable import ArkS3

/// The signer against AWS's published Signature Version 4 vectors (Tests/Fixtures/sigv4).
@Suite struct SigV4SignerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sigv4")
    static let names: [String] = {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return all.filter { !$0.hasSuffix(".md") }.sorted()
    }()
    static let credentials = S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    struct Vector {
        var request: SigV4Request
        var canonical: String
        var stringToSign: String
        var authorization: String
        var amzDate: String
        var region: String
        var service: String
    }

    static func load(_ name: String) throws -> Vector {
        func read(_ ext: String) throws -> String {
            try String(contentsOf: fixtures.appendingPathComponent("\(name)/\(name).\(ext)"), encoding: .utf8)
        }
        let req = try read("req")
        let sts = try read("sts")
        let headAndBody = req.components(separatedBy: "\n\n")
        var lines = headAndBody[0].components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let uri = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        let pathPart = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(pathPart[0]).removingPercentEncoding!
        var query: [(name: String, value: String)] = []
        if pathPart.count > 1 {
            for item in pathPart[1].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((String(kv[0]).removingPercentEncoding!, kv.count > 1 ? String(kv[1]).removingPercentEncoding! : ""))
            }
        }
        let headers = lines.filter { !$0.isEmpty }.map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        let body = headAndBody.count > 1 ? headAndBody[1...].joined(separator: "\n\n") : ""
        let stsLines = sts.components(separatedBy: "\n")
        let scope = stsLines[2].components(separatedBy: "/")
        let payload = body.isEmpty ? SigV4Signer.emptyPayloadHash : sha256Hex(body)
        return Vector(
            request: SigV4Request(method: method, path: path, query: query, headers: headers, payloadHash: payload),
            canonical: try read("creq"), stringToSign: sts, authorization: try read("authz"), amzDate: stsLines[1],
            region: scope[1], service: scope[2])
    }

    static func sha256Hex(_ text: String) -> String {
        SigV4Signer(credentials: credentials, region: "x").stringToSign(canonicalRequest: text, amzDate: "00000000T000000Z")
            .components(separatedBy: "\n").last!
    }

    @Test func theVectorsAreThere() {
        #expect(Self.names.count >= 15)
        #expect(Self.names.contains("get-vanilla") && Self.names.contains("get-vanilla-query-order-key") && Self.names.contains("get-utf8"))
    }

    @Test(arguments: names) func canonicalRequest(_ name: String) throws {
        let v = try Self.load(name)
        let signer = SigV4Signer(credentials: Self.credentials, region: v.region, service: v.service)
        #expect(signer.canonicalRequest(v.request).text == v.canonical)
    }

    @Test(arguments: names) func stringToSign(_ name: String) throws {
        let v = try Self.load(name)
        let signer = SigV4Signer(credentials: Self.credentials, region: v.region, service: v.service)
        #expect(signer.stringToSign(canonicalRequest: signer.canonicalRequest(v.request).text, amzDate: v.amzDate) == v.stringToSign)
    }

    @Test(arguments: names) func authorizationHeader(_ name: String) throws {
        let v = try Self.load(name)
        let signer = SigV4Signer(credentials: Self.credentials, region: v.region, service: v.service)
        #expect(signer.authorization(v.request, amzDate: v.amzDate) == v.authorization)
    }

    /// S3 encodes the path once: a space is `%20`, `/` between segments stays.
    @Test func s3EncodesThePathOnce() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let request = SigV4Request(method: "GET", path: "/bucket/a b/ሴ", headers: [("Host", "h")], payloadHash: SigV4Signer.unsignedPayload)
        #expect(signer.canonicalRequest(request).text.components(separatedBy: "\n")[1] == "/bucket/a%20b/%E1%88%B4")
    }

    /// `sign` adds the date, the payload hash and the session token, and signs all three.
    @Test func signAddsDatePayloadHashAndSessionToken() {
        var creds = Self.credentials
        creds.sessionToken = "token/+="
        let signer = SigV4Signer(credentials: creds, region: "us-east-1")
        let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
        let headers = signer.sign(
            SigV4Request(method: "GET", path: "/b/k", headers: [("Host", "h")], payloadHash: "UNSIGNED-PAYLOAD"), at: date)
        let byName = Dictionary(headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["x-amz-date"] == "20150830T123600Z")
        #expect(byName["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD")
        #expect(byName["x-amz-security-token"] == "token/+=")
        #expect(byName["authorization"]?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") == true)
        #expect(byName["authorization"]?.contains("Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request") == true)
    }

    /// Over https a body goes unsigned (TLS keeps it intact; neither side hashes it), over http
    /// its SHA-256 is signed; a request without a body signs the empty body's hash either way.
    @Test(arguments: [("http", false), ("https", true), ("HTTPS", true)])
    func payloadHashFollowsTheScheme(scheme: String, unsigned: Bool) throws {
        let configuration = S3Configuration(endpoint: URL(string: "\(scheme)://127.0.0.1:9")!, bucket: "b", credentials: Self.credentials)
        let client = S3Client(configuration: configuration, http: S3TestServer.http)
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  // SHA-256("abc")
        #expect(client.payloadHash(ByteBuffer(string: "abc")) == (unsigned ? SigV4Signer.unsignedPayload : abc))
        #expect(client.payloadHash(nil) == SigV4Signer.emptyPayloadHash)
    }
}
