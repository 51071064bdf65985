import ArkCore
import ArkS3
import Foundation
import TOMLKit

/// Which store and repo an `ark::` URL names. `ark::<repo>` finds the store as `ark` does:
/// the file `$ARK_CONFIG` names, else `./ark.toml`, else the store `./data`;
/// `ark::/path/to/ark.toml#<repo>` names the configuration file itself.
struct HelperLocation {
    var storePath: String
    var repo: String
    /// The configuration file read, if any (for messages).
    var configFile: String?
    /// Names of the remotes in the configuration, by node id (for peers' ref names).
    var peerNames: [ObjectID: String] = [:]
    /// The repo's remotes and the addresses configured for them (to fetch chunks a lazy repo lacks).
    var remotes: [(node: ObjectID, addresses: [(host: String, port: Int)])] = []
    /// `[store.s3]`: the bucket that holds the packs (checked by `ark` itself; read loosely here).
    var s3: S3Configuration?

    init(
        url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        cwd: String = FileManager.default.currentDirectoryPath
    ) throws {
        var spec = url
        if spec.hasPrefix("ark://") { spec.removeFirst(6) }
        var file: String?
        if let hash = spec.lastIndex(of: "#") {
            file = String(spec[..<hash])
            spec = String(spec[spec.index(after: hash)...])
            guard !(file ?? "").isEmpty else { throw HelperError("ark::\(url): empty configuration path before '#'") }
        } else if let env = environment["ARK_CONFIG"], !env.isEmpty {
            file = env
        }
        guard Self.validRepoID(spec) else {
            throw HelperError("ark::\(url): '\(spec)' is not a valid repo id (letters, digits, '.', '_', '-')")
        }
        repo = spec
        let explicit = file != nil
        let name = file ?? "ark.toml"
        let absolute = name.hasPrefix("/") ? name : cwd + "/" + name
        guard FileManager.default.fileExists(atPath: absolute) else {
            if explicit { throw HelperError("\(name): no such configuration file") }
            storePath = cwd + "/data"
            return
        }
        configFile = name
        let directory = (absolute as NSString).deletingLastPathComponent
        guard let data = FileManager.default.contents(atPath: absolute), let text = String(data: data, encoding: .utf8) else {
            throw HelperError("\(name): cannot read file (or not UTF-8)")
        }
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch {
            throw HelperError("\(name): syntax error: \(error)")
        }
        var path = directory + "/data"
        if let store = root["store"]?.table, let p = store["path"]?.string, !p.isEmpty {
            path = p.hasPrefix("/") ? p : directory + "/" + p
        }
        storePath = (path as NSString).standardizingPath
        if let t = root["store"]?.table?["s3"]?.table {
            guard let e = t["endpoint"]?.string, let url = URL(string: e), let bucket = t["bucket"]?.string else {
                throw HelperError("\(name): [store.s3] needs endpoint and bucket (run `ark id` for the full check)")
            }
            let addressing = t["addressing"]?.string.flatMap(S3Addressing.init(rawValue:))
            do {
                s3 = S3Configuration(
                    endpoint: url, bucket: bucket, prefix: t["prefix"]?.string ?? "", region: t["region"]?.string ?? "us-east-1",
                    addressing: addressing ?? ((url.host ?? "").hasSuffix("amazonaws.com") ? .virtual : .path),
                    credentials: try S3Configuration.credentialsFromEnvironment(environment))
            } catch let e as ArkError { throw HelperError("\(name): \(e.message)") }
        }
        for item in root["repos"]?.array ?? [] {
            let isThisRepo = item.table?["id"]?.string == repo
            for remote in item.table?["remotes"]?.array ?? [] {
                guard let t = remote.table, let hex = t["node_id"]?.string, let id = ObjectID(hex: hex) else { continue }
                if let n = t["name"]?.string { peerNames[id] = n }
                if isThisRepo {
                    let addrs = (t["addrs"]?.array ?? []).compactMap { $0.string.flatMap(Self.hostPort) }
                    remotes.append((id, addrs))
                }
            }
        }
    }

    /// "host:port" or "[ipv6]:port", as `ark.toml`'s `addrs`.
    static func hostPort(_ s: String) -> (host: String, port: Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// As `ark.toml`'s repo ids: letters, digits, '.', '_', '-', not starting with '.' or '-'.
    static func validRepoID(_ id: String) -> Bool {
        guard let first = id.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-"), id.utf8.count <= 128 else { return false }
        return id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
    }

    /// Opens the store; it must exist (a helper never creates one).
    func open() throws -> Repository {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: storePath, isDirectory: &isDir), isDir.boolValue else {
            throw HelperError(
                "no ark store at \(storePath)" + (configFile.map { " (from \($0))" } ?? " (no ark.toml here; set ARK_CONFIG)"))
        }
        guard let s3 else { return try Repository(path: storePath) }
        let storage = S3PackStorage(configuration: s3)
        try storage.checkBucket()
        return try Repository(path: storePath, packStorage: storage)
    }
}

/// One line for git's stderr.
struct HelperError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
