import ArkCore
import Foundation
import TOMLKit

/// A bad configuration file: one line naming the file, the line where known, and the key.
struct ConfigError: Error, CustomStringConvertible {
    var file: String
    var line: Int?
    var key: String?
    var message: String

    var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        if let key { return "\(where_): \(key): \(message)" }
        return "\(where_): \(message)"
    }
}

extension ArkConfig {
    /// Loads `path`, or the defaults (store `./data`) when `path` is the default name and
    /// no such file exists.
    static func load(path: String?) throws -> ArkConfig {
        let cwd = FileManager.default.currentDirectoryPath
        let file = path ?? defaultFile
        let absolute = file.hasPrefix("/") ? file : cwd + "/" + file
        guard FileManager.default.fileExists(atPath: absolute) else {
            if path != nil { throw ConfigError(file: file, message: "no such file") }
            return ArkConfig(file: nil, storePath: cwd + "/data")
        }
        guard let data = FileManager.default.contents(atPath: absolute), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, message: "cannot read file (or not UTF-8)")
        }
        return try parse(text, file: file, directory: (absolute as NSString).deletingLastPathComponent)
    }

    static func parse(_ text: String, file: String, directory: String) throws -> ArkConfig {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ConfigError(file: file, line: e.source.begin.line, message: "syntax error: \(e.description)")
        }
        let p = Parser(text: text, file: file)
        try p.allowOnly(root, ["store", "repos", "sync", "mount", "net"], path: "")
        var config = ArkConfig(file: file, storePath: directory + "/data")

        if let store = root["store"] {
            let t = try p.table(store, "store")
            try p.allowOnly(t, ["path", "cache_limit", "s3"], path: "store")
            if let v = t["s3"] { config.s3 = try parseS3(v, p, directory: directory) }
            if let v = t["cache_limit"] {
                guard let n = v.int ?? v.string.flatMap(parseSize) else {
                    throw p.error("store.cache_limit", "must be a size such as \"10GiB\" or a number of bytes")
                }
                guard n >= 16 << 20 else { throw p.error("store.cache_limit", "must be at least 16MiB") }
                config.cacheLimit = Int64(n)
            }
            if let v = t["path"] {
                let s = try p.string(v, "store.path")
                guard !s.isEmpty else { throw p.error("store.path", "must not be empty") }
                config.storePath = s.hasPrefix("/") ? s : directory + "/" + s
            }
        }
        config.storePath = (config.storePath as NSString).standardizingPath

        if let repos = root["repos"] {
            guard let arr = repos.array else { throw p.error("repos", "must be an array of tables ([[repos]])") }
            var seen = Set<String>()
            for (i, item) in arr.enumerated() {
                let key = "repos[\(i)]"
                let t = try p.table(item, key)
                try p.allowOnly(t, ["id", "remotes", "fetch", "source"], path: key)
                guard let idv = t["id"] else { throw p.error("\(key).id", "is required") }
                let id = try p.string(idv, "\(key).id")
                guard validRepoID(id) else { throw p.error("\(key).id", "'\(id)' is not a valid repo id (letters, digits, '.', '_', '-')") }
                guard seen.insert(id).inserted else { throw p.error("\(key).id", "duplicate repo id '\(id)'", search: "\"\(id)\"") }
                var repo = Repo(id: id, remotes: [])
                if let fv = t["fetch"] {
                    let f = try p.string(fv, "\(key).fetch")
                    guard let policy = FetchPolicy(rawValue: f) else {
                        throw p.error("\(key).fetch", "must be \"full\" or \"lazy\", not \"\(f)\"")
                    }
                    repo.fetch = policy
                }
                if let sv = t["source"] {
                    let s = try p.string(sv, "\(key).source")
                    guard !s.isEmpty else { throw p.error("\(key).source", "must not be empty") }
                    let path = ((s.hasPrefix("/") ? s : directory + "/" + s) as NSString).standardizingPath
                    if let problem = sourceProblem(path) { throw p.error("\(key).source", "'\(s)' \(problem)", search: "\"\(s)\"") }
                    repo.source = path
                }
                if let rv = t["remotes"] {
                    guard let ra = rv.array else { throw p.error("\(key).remotes", "must be an array of tables") }
                    var names = Set<String>()
                    for (j, r) in ra.enumerated() {
                        let rk = "\(key).remotes[\(j)]"
                        let rt = try p.table(r, rk)
                        try p.allowOnly(rt, ["name", "node_id", "addrs"], path: rk)
                        guard let nv = rt["name"] else { throw p.error("\(rk).name", "is required") }
                        guard let iv = rt["node_id"] else { throw p.error("\(rk).node_id", "is required") }
                        let name = try p.string(nv, "\(rk).name")
                        guard validRepoID(name) else { throw p.error("\(rk).name", "'\(name)' is not a valid peer name") }
                        guard names.insert(name).inserted else { throw p.error("\(rk).name", "duplicate remote name '\(name)'") }
                        let hex = try p.string(iv, "\(rk).node_id")
                        guard hex.utf8.count == 64, let node = ObjectID(hex: hex) else {
                            throw p.error("\(rk).node_id", "must be 64 hex characters (got \(hex.utf8.count) characters)", search: hex)
                        }
                        var addrs: [String] = []
                        if let av = rt["addrs"] {
                            guard let arr = av.array else { throw p.error("\(rk).addrs", "must be an array of \"host:port\" strings") }
                            for a in arr {
                                let s = try p.string(a, "\(rk).addrs")
                                guard Self.parseHostPort(s) != nil else {
                                    throw p.error("\(rk).addrs", "'\(s)' is not host:port", search: s)
                                }
                                addrs.append(s)
                            }
                        }
                        repo.remotes.append(Remote(name: name, nodeID: node, addrs: addrs))
                    }
                }
                config.repos.append(repo)
            }
        }

        if let sync = root["sync"] {
            let t = try p.table(sync, "sync")
            try p.allowOnly(t, ["enumerate_threshold", "max_heads_per_writer"], path: "sync")
            if let v = t["enumerate_threshold"] {
                guard let n = v.int else { throw p.error("sync.enumerate_threshold", "must be an integer") }
                guard (1...1024).contains(n) else { throw p.error("sync.enumerate_threshold", "must be between 1 and 1024") }
                config.enumerateThreshold = n
            }
            if let v = t["max_heads_per_writer"] {
                guard let n = v.int else { throw p.error("sync.max_heads_per_writer", "must be an integer") }
                guard (1...1_000_000).contains(n) else { throw p.error("sync.max_heads_per_writer", "must be between 1 and 1000000") }
                config.maxHeadsPerWriter = n
            }
        }
        if let net = root["net"] {
            let t = try p.table(net, "net")
            try p.allowOnly(t, ["listen", "discovery"], path: "net")
            if let v = t["discovery"] {
                guard let b = v.bool else { throw p.error("net.discovery", "must be true or false") }
                config.discovery = b
            }
            if let v = t["listen"] {
                let s = try p.string(v, "net.listen")
                guard let (host, port) = parseHostPort(s) else {
                    throw p.error("net.listen", "'\(s)' is not host:port (e.g. \"0.0.0.0:7465\")")
                }
                config.listenHost = host
                config.listenPort = port
            }
        }

        if let mount = root["mount"] {
            let t = try p.table(mount, "mount")
            try p.allowOnly(t, ["cache_size"], path: "mount")
            if let v = t["cache_size"] {
                guard let n = v.int ?? v.string.flatMap(parseSize) else {
                    throw p.error("mount.cache_size", "must be a size such as \"96MiB\" or a number of bytes")
                }
                guard n >= 4 << 20 && n <= 64 << 30 else { throw p.error("mount.cache_size", "must be between 4MiB and 64GiB") }
                config.mountCacheSizeSetting = n
            }
        }
        return config
    }

    /// Why `path` cannot be a repo's source (nil when it is a git or jj repository): checked
    /// by looking, without running git, since every command loads the configuration.
    static func sourceProblem(_ path: String) -> String? {
        func isDir(_ p: String) -> Bool {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }
        guard FileManager.default.fileExists(atPath: path) else { return "does not exist" }
        guard isDir(path) else { return "is not a directory" }
        if isDir(path + "/.jj/repo") { return nil }  // jj
        if FileManager.default.fileExists(atPath: path + "/.git") { return nil }  // git work tree (or linked work tree: a file)
        if FileManager.default.fileExists(atPath: path + "/HEAD") && isDir(path + "/objects") && isDir(path + "/refs") { return nil }  // bare
        return "is not a git or jj repository"
    }

    /// "host:port", "[v6]:port"; port 0...65535 (0: any free port).
    static func parseHostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        return (host, port)
    }

    /// "256MiB", "1GiB", "512M", "2T", "1048576" -> bytes.
    static func parseSize(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces)
        let digits = t.prefix(while: \.isNumber)
        guard let n = Int(digits) else { return nil }
        let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let shift: Int? =
            switch unit {
            case "", "b": 0
            case "k", "kb", "kib": 10
            case "m", "mb", "mib": 20
            case "g", "gb", "gib": 30
            case "t", "tb", "tib": 40
            default: nil
            }
        guard let shift, n <= Int.max >> shift else { return nil }
        return n << shift
    }

    /// Helpers that turn type and key problems into `ConfigError`s, finding the line of a key
    /// in the text where the TOML parser does not report one.
    struct Parser {
        let text: String
        let file: String

        func line(of key: String, search: String? = nil) -> Int? {
            let last =
                search
                ?? String(key.split(separator: ".").last ?? Substring(key)).replacingOccurrences(
                    of: #"\[\d+\]"#, with: "", options: .regularExpression)
            for (i, l) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let t = l.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("#") { continue }
                if search != nil
                    ? t.contains(last)
                    : (t.hasPrefix(last) || t.contains(" \(last) =") || t.contains("{ \(last)") || t.contains("[\(last)]")
                        || t.contains("[[\(last)]]"))
                {
                    return i + 1
                }
            }
            return nil
        }

        func error(_ key: String, _ message: String, search: String? = nil) -> ConfigError {
            ConfigError(file: file, line: line(of: key, search: search), key: key, message: message)
        }

        func table(_ v: TOMLValueConvertible, _ key: String) throws -> TOMLTable {
            guard let t = v.table else { throw error(key, "must be a table, not \(v.type)") }
            return t
        }

        func string(_ v: TOMLValueConvertible, _ key: String) throws -> String {
            guard let s = v.string else { throw error(key, "must be a string, not \(v.type)") }
            return s
        }

        func allowOnly(_ t: TOMLTable, _ keys: Set<String>, path: String) throws {
            for k in t.keys where !keys.contains(k) {
                let full = path.isEmpty ? k : "\(path).\(k)"
                throw ConfigError(
                    file: file, line: line(of: k, search: nil), key: full,
                    message: "unknown key (allowed here: \(keys.sorted().joined(separator: ", ")))")
            }
        }
    }
}
