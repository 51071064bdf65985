import ArkCore
import ArkS3
import Foundation
import TOMLKit

/// `[store.s3]`: an S3-compatible bucket holds the node's pack files. Credentials come only
/// from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
struct S3Settings: Sendable, Equatable {
    /// `http://127.0.0.1:8480`, `https://s3.eu-central-1.amazonaws.com`.
    var endpoint: URL
    var bucket: String
    /// Keys go under this prefix (`node-a/`); empty: the bucket's root.
    var prefix: String = ""
    var region: String = "us-east-1"
    var addressing: S3Addressing = .path
    /// Seconds a small request may take, all retries together (`timeout`); nil: the default (30).
    var timeout: Double?
    /// An absolute path: a PEM file of CA certificates trusted for an https endpoint, besides the system's.
    var caFile: String?

    /// The client configuration, with credentials read from the environment now.
    func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Configuration {
        var c = S3Configuration(
            endpoint: endpoint, bucket: bucket, prefix: prefix, region: region, addressing: addressing,
            credentials: try S3Configuration.credentialsFromEnvironment(environment))
        if let timeout { c.retry = S3RetryPolicy(deadline: .milliseconds(Int64((timeout * 1000).rounded()))) }
        c.caFile = caFile
        return c
    }
}

extension ArkConfig {
    static let s3Keys: Set<String> = ["endpoint", "bucket", "prefix", "region", "addressing", "timeout", "ca_file"]
    /// Keys someone might try for credentials; each is rejected with a pointer to the environment.
    static let s3CredentialKeys: Set<String> = [
        "access_key_id", "secret_access_key", "session_token", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
        "access_key", "secret_key", "secret", "credentials", "token", "password"
    ]

    /// `directory`: the config file's, which a relative `ca_file` is resolved against.
    static func parseS3(_ value: TOMLValueConvertible, _ p: Parser, directory: String) throws -> S3Settings {
        let t = try p.table(value, "store.s3")
        for k in t.keys where s3CredentialKeys.contains(k.lowercased()) {
            throw p.error(
                "store.s3.\(k)",
                "credentials are not read from ark.toml: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                    + "(and AWS_SESSION_TOKEN) in the environment")
        }
        try p.allowOnly(t, s3Keys, path: "store.s3")
        guard let ev = t["endpoint"] else {
            throw p.error("store.s3.endpoint", "is required (e.g. \"http://127.0.0.1:8480\")", search: "[store.s3]")
        }
        let e = try p.string(ev, "store.s3.endpoint")
        guard let url = URL(string: e), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil
        else {
            // Credentials written into the URL are not repeated on stderr.
            let parsed = URL(string: e)
            let shown =
                parsed?.user == nil && parsed?.password == nil ? "'\(e)'" : "the value (it carries credentials: use AWS_* variables)"
            throw p.error("store.s3.endpoint", "\(shown) is not an http:// or https:// URL of a host (and optional port), with no path")
        }
        guard let bv = t["bucket"] else { throw p.error("store.s3.bucket", "is required", search: "[store.s3]") }
        let bucket = try p.string(bv, "store.s3.bucket")
        guard validBucketName(bucket) else {
            throw p.error(
                "store.s3.bucket",
                "'\(bucket)' is not a valid bucket name (3-63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit)")
        }
        var settings = S3Settings(endpoint: url, bucket: bucket)
        // AWS prefers virtual-hosted names; any other endpoint gets path style unless told otherwise.
        if host.hasSuffix("amazonaws.com") { settings.addressing = .virtual }
        if let v = t["prefix"] {
            let prefix = try p.string(v, "store.s3.prefix")
            guard !prefix.hasPrefix("/"), !prefix.contains("//"), prefix.utf8.count <= 512 else {
                throw p.error("store.s3.prefix", "'\(prefix)' must not start with '/' or contain '//'")
            }
            settings.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        }
        if let v = t["region"] {
            let region = try p.string(v, "store.s3.region")
            guard !region.isEmpty,
                region.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) })
            else { throw p.error("store.s3.region", "'\(region)' is not a region name such as \"us-east-1\"") }
            settings.region = region
        }
        if let v = t["addressing"] {
            let a = try p.string(v, "store.s3.addressing")
            guard let mode = S3Addressing(rawValue: a) else {
                throw p.error("store.s3.addressing", "must be \"path\" or \"virtual\", not \"\(a)\"")
            }
            settings.addressing = mode
        }
        if let v = t["timeout"] {
            guard let seconds = v.double ?? v.int.map(Double.init) else {
                throw p.error("store.s3.timeout", "must be a number of seconds, not \(v.type)")
            }
            guard seconds.isFinite, seconds >= 0.1, seconds <= 86_400 else {
                throw p.error("store.s3.timeout", "must be a positive number of seconds (0.1 to 86400), not \(seconds)")
            }
            settings.timeout = seconds
        }
        if let v = t["ca_file"] { settings.caFile = try parseCAFile(v, p, directory: directory) }
        return settings
    }

    /// `ca_file`: resolved like the other paths in ark.toml, and read now: a missing, unreadable
    /// or non-PEM file is a config error before anything is written.
    static func parseCAFile(_ value: TOMLValueConvertible, _ p: Parser, directory: String) throws -> String {
        let s = try p.string(value, "store.s3.ca_file")
        guard !s.isEmpty else { throw p.error("store.s3.ca_file", "must not be empty") }
        let path = ((s.hasPrefix("/") ? s : directory + "/" + s) as NSString).standardizingPath
        do { try S3TLS.checkCAFile(path) } catch { throw p.error("store.s3.ca_file", "'\(path)' \(error.reason)") }
        return path
    }

    /// S3's bucket naming rules (the subset every S3-compatible server accepts).
    static func validBucketName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard (3...63).contains(u.count) else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }
        guard alnum(u.first!), alnum(u.last!) else { return false }
        return u.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}
