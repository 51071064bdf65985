import ArkCore
import Foundation
import Glibc
import Logging

/// git's remote-helper protocol (gitremote-helpers(7)) over stdin and stdout, for one
/// `ark::` remote: capabilities `fetch`, `push` and `option`, and the `list` command.
/// stdout is the protocol channel: diagnostics go to stderr through the logger.
final class RemoteHelper {
    let location: HelperLocation
    let gitDir: String
    var logger: Logger
    var progress = false
    /// git's verbosity (`option verbosity`): 0 with -q, 1 by default.
    var verbosity = 1
    private var openedRepo: Repository?
    /// Commits advertised by `list`, by git id (hex).
    var advertised: [String: ObjectID] = [:]

    init(location: HelperLocation, gitDir: String, logger: Logger) {
        self.location = location; self.gitDir = gitDir; self.logger = logger
    }

    func repo() throws -> Repository {
        if let r = openedRepo { return r }
        let r = try location.open()
        openedRepo = r
        return r
    }

    func run() throws {
        while let line = readLine(strippingNewline: true) {
            logger.debug("git: \(line)")
            if line.isEmpty { return }
            if line == "capabilities" {
                send("fetch\npush\noption\n\n")
            } else if line == "list" || line == "list for-push" {
                try list(forPush: line.hasSuffix("for-push"))
            } else if line.hasPrefix("option ") {
                send(option(String(line.dropFirst(7))) + "\n")
            } else if (line.hasPrefix("fetch ") || line.hasPrefix("push ")) && gitDir.isEmpty {
                throw HelperError("GIT_DIR is not set: git runs git-remote-ark for fetch and push")
            } else if line.hasPrefix("fetch ") {
                try fetch(batch(first: line))
                send("\n")
            } else if line.hasPrefix("push ") {
                try push(batch(first: line))
            } else {
                throw HelperError("unsupported remote-helper command '\(line)'")
            }
        }
    }

    /// A command's batch: `first` and the lines after it, up to a blank line.
    private func batch(first: String) -> [String] {
        var lines = [first]
        while let l = readLine(strippingNewline: true), !l.isEmpty { lines.append(l) }
        return lines
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; exit(1) }
            done += n
        }
        bytes.removeAll()
    }

    private func option(_ text: String) -> String {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return "error missing value" }
        switch parts[0] {
        case "verbosity":
            let v = Int(parts[1]) ?? 1
            verbosity = v
            logger.logLevel = v >= 3 ? .trace : v >= 2 ? .debug : v >= 1 ? .notice : .error
            return "ok"
        case "progress": progress = parts[1] == "true"; return "ok"
        case "cloning", "followtags", "check-connectivity": return "ok"
        default: return "unsupported"
        }
    }

    func refMap() throws -> RefMap {
        let repo = try repo()
        let heads = try repo.index.heads(repo: location.repo)
        return RefMap(heads: heads, local: repo.identity.endpointID) { id in location.peerNames[id] ?? id.short }
    }

    private func list(forPush: Bool) throws {
        let repo = try repo()
        let map = try refMap()
        if map.refs.isEmpty && map.headCommit == nil && !forPush {
            throw HelperError("repo '\(location.repo)' has no heads in the ark store at \(location.storePath)")
        }
        let ids = GitObjectIDs(repo: repo)
        try fillForIDs(of: map.refs.map(\.commit) + (map.headCommit.map { [$0] } ?? []), ids: ids)
        var out = ""
        for r in map.refs {
            let hex = HexCodec.encode(try ids.commit(r.commit))
            advertised[hex] = r.commit
            out += "\(hex) \(r.ref)\n"
        }
        if let sym = map.headSymref {
            out += "@\(sym) HEAD\n"
        } else if let c = map.headCommit {
            let hex = HexCodec.encode(try ids.commit(c))
            advertised[hex] = c
            out += "\(hex) HEAD\n"
        }
        try ids.flush()
        send(out + "\n")
    }

    private func fetch(_ lines: [String]) throws {
        let repo = try repo()
        var wants: [ObjectID] = []
        for l in lines {
            let parts = l.split(separator: " ")
            guard parts.count >= 2 else { throw HelperError("malformed fetch command '\(l)'") }
            let hex = String(parts[1])
            if let id = advertised[hex] { wants.append(id); continue }
            guard let raw = HexCodec.decode(hex), let id = try repo.index.commit(gitID: raw, node: repo.identity.endpointID) else {
                throw HelperError("git commit \(hex) is not in ark repo '\(location.repo)'")
            }
            wants.append(id)
        }
        let started = Date()
        let pack = GitFetchPack(ids: GitObjectIDs(repo: repo))
        pack.deltas = ProcessInfo.processInfo.environment["ARK_GIT_DELTAS"] != "0"
        let showProgress = progress
        let result = try pack.fetch(wants: wants, gitDir: gitDir, fill: { try self.fetchFromPeers($0) }) { done, total in
            if showProgress { FileHandle.standardError.write(Data("ark: sending objects: \(done)/\(total)\r".utf8)) }
        }
        if showProgress && result.objects > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        logger.info(
            "sent \(result.objects) objects (\(result.commits) commits) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
    }
}
