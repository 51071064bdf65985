import Foundation
import Glibc

/// A git repository built by the test through the `git` executable.
struct GitFixture {
    let path: String
    var env: [String: String] = [
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "Ann Author", "GIT_AUTHOR_EMAIL": "ann@example.org",
        "GIT_COMMITTER_NAME": "Carl Committer", "GIT_COMMITTER_EMAIL": "carl@example.org"
    ]

    init(_ path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try run(["init", "-q", "-b", "main"])
    }

    /// Runs git in the repository; throws with git's stderr on failure.
    @discardableResult
    func run(_ args: [String], env extra: [String: String] = [:], stdin: Data? = nil) throws -> Data {
        try Self.run(["-C", path] + args, env: env.merging(extra) { $1 }, stdin: stdin)
    }

    func text(_ args: [String], env extra: [String: String] = [:]) throws -> String {
        String(decoding: try run(args, env: extra), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits everything in the work tree with fixed dates in the given timezones.
    @discardableResult
    func commitAll(_ message: String, time: Int, authorTZ: String = "+0000", committerTZ: String = "+0000") throws -> String {
        try run(["add", "-A"])
        try run(
            ["commit", "-q", "--allow-empty", "-m", message],
            env: ["GIT_AUTHOR_DATE": "\(time) \(authorTZ)", "GIT_COMMITTER_DATE": "\(time + 60) \(committerTZ)"])
        return try text(["rev-parse", "HEAD"])
    }

    func write(_ rel: String, _ data: Data, executable: Bool = false) throws {
        let full = path + "/" + rel
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        chmod(full, executable ? 0o755 : 0o644)
    }

    func write(_ rel: String, _ text: String, executable: Bool = false) throws { try write(rel, Data(text.utf8), executable: executable) }

    @discardableResult
    static func run(_ args: [String], env extra: [String: String] = [:], stdin: Data? = nil, cwd: String? = nil) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + args
        p.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
        try p.run()
        if let stdin {
            DispatchQueue.global().async {
                inp.fileHandleForWriting.write(stdin); try? inp.fileHandleForWriting.close()
            }
        }
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = readToEnd(err); group.leave()
        }
        let data = readToEnd(out)
        group.wait()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw FixtureError("git \(args.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))")
        }
        return data
    }

    /// `git archive <commit> | tar -x` into `dest`.
    func archive(_ commit: String, to dest: String) throws {
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        let tar = try run(["archive", "--format=tar", commit])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tar", "-x", "-C", dest]
        let inp = Pipe()
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(tar)
        try inp.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw FixtureError("tar -x failed for \(commit)") }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// What a directory holds, path by path: kind, executable bit, size or link target.
enum DirectoryListing {
    static func of(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ rel: String) throws {
            let full = rel.isEmpty ? root : root + "/" + rel
            for name in try FileManager.default.contentsOfDirectory(atPath: full) {
                let r = rel.isEmpty ? name : rel + "/" + name
                let p = root + "/" + r
                var st = stat()
                guard lstat(p, &st) == 0 else { throw FixtureError("lstat \(p)") }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: out[r] = "dir"; try walk(r)
                case S_IFLNK: out[r] = "link " + (try FileManager.default.destinationOfSymbolicLink(atPath: p))
                case S_IFREG: out[r] = (st.st_mode & 0o100 != 0 ? "exec " : "file ") + "\(st.st_size)"
                default: out[r] = "other"
                }
            }
        }
        try walk("")
        return out
    }

    /// Differences between two directories (empty when they match byte for byte and mode for mode).
    static func differences(_ a: String, _ b: String) throws -> [String] {
        let la = try of(a), lb = try of(b)
        var diffs: [String] = []
        for path in Set(la.keys).union(lb.keys).sorted() {
            guard la[path] == lb[path] else { diffs.append("\(path): \(la[path] ?? "absent") vs \(lb[path] ?? "absent")"); continue }
            if la[path]!.hasPrefix("file") || la[path]!.hasPrefix("exec") {
                let da = try Data(contentsOf: URL(fileURLWithPath: a + "/" + path))
                let db = try Data(contentsOf: URL(fileURLWithPath: b + "/" + path))
                if da != db { diffs.append("\(path): contents differ") }
            }
        }
        return diffs
    }
}
