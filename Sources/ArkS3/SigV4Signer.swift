import Crypto
import Foundation

/// Credentials for Signature Version 4: an access key pair and, for temporary credentials, a
/// session token (sent as `x-amz-security-token`).
package struct S3Credentials: Sendable, Equatable {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// One request as Signature Version 4 sees it. `path` is the object path before encoding (the
/// signer encodes it); `query` holds decoded names and values; `headers` are sent as given.
package struct SigV4Request: Sendable {
    package var method: String
    package var path: String
    package var query: [(name: String, value: String)]
    package var headers: [(name: String, value: String)]
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    package var payloadHash: String

    package init(
        method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)] = [],
        payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}

/// AWS Signature Version 4 (header authorization): canonical request, string to sign, the
/// HMAC-SHA256 key chain (date, region, service, `aws4_request`) and the `Authorization` header.
/// S3 encodes the path once; every other service encodes it twice (`doubleEncodePath`).
package struct SigV4Signer: Sendable {
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"
    package static let emptyPayloadHash = SHA256.hash(data: [UInt8]()).lowerHex

    package var credentials: S3Credentials
    package var region: String
    package var service: String
    package var doubleEncodePath: Bool

    package init(credentials: S3Credentials, region: String, service: String = "s3", doubleEncodePath: Bool? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.doubleEncodePath = doubleEncodePath ?? (service != "s3")
    }

    /// `20150830T123600Z` for an instant.
    package static func amzDate(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// The path as it goes on the wire and into the canonical request (each segment encoded once).
    package static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }.joined(separator: "/")
    }

    /// `name=value&...` encoded and sorted by name, then value.
    package static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (uriEncode($0.name), uriEncode($0.value)) }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// The canonical request and the `SignedHeaders` list (every header given is signed).
    package func canonicalRequest(_ request: SigV4Request) -> (text: String, signedHeaders: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in request.headers {
            merged[name.lowercased(), default: []].append(Self.trimHeaderValue(value))
        }
        let names = merged.keys.sorted()
        let headerLines = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signed = names.joined(separator: ";")
        var uri = Self.encodePath(request.path.isEmpty ? "/" : request.path)
        if doubleEncodePath { uri = Self.encodePath(uri) }
        let text = [
            request.method, uri, Self.canonicalQuery(request.query), headerLines, signed, request.payloadHash
        ].joined(separator: "\n")
        return (text, signed)
    }

    /// `date/region/service/aws4_request`.
    package func scope(amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    package func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        let hash = SHA256.hash(data: Array(canonicalRequest.utf8)).lowerHex
        return "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope(amzDate: amzDate))\n\(hash)"
    }

    package func signingKey(amzDate: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [String(amzDate.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// The `Authorization` header for a request whose headers already include the date.
    package func authorization(_ request: SigV4Request, amzDate: String) -> String {
        let (canonical, signed) = canonicalRequest(request)
        let toSign = stringToSign(canonicalRequest: canonical, amzDate: amzDate)
        let signature = HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: signingKey(amzDate: amzDate)).lowerHex
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate: amzDate)), "
            + "SignedHeaders=\(signed), Signature=\(signature)"
    }

    /// Adds `x-amz-date`, `x-amz-content-sha256`, the session token and `Authorization` to a
    /// request's headers and returns them all, ready to send.
    package func sign(_ request: SigV4Request, at date: Date) -> [(name: String, value: String)] {
        let amzDate = Self.amzDate(date)
        var signedRequest = request
        signedRequest.headers.append(("x-amz-date", amzDate))
        signedRequest.headers.append(("x-amz-content-sha256", request.payloadHash))
        if let token = credentials.sessionToken { signedRequest.headers.append(("x-amz-security-token", token)) }
        return signedRequest.headers + [("Authorization", authorization(signedRequest, amzDate: amzDate))]
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 asks.
    package static func uriEncode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Leading and trailing spaces removed, runs of spaces inside collapsed to one.
    static func trimHeaderValue(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex, as SigV4 writes hashes and signatures.
    var lowerHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
