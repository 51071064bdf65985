import Foundation
import Glibc
import Testing

/// Runs git with the built `git-remote-ark` first on PATH, no system configuration and a
/// throwaway HOME, so `ark::` URLs reach this build's helper and nothing of the machine's setup.
struct GitRemote {
    let home = TempDir("ark-git-home")
    var extraEnv: [String: String] = [:]

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var ok: Bool { status == 0 }
    }

    /// The directory holding `ark` and `git-remote-ark` (both built products).
    static var binDirectory: String {
        URL(fileURLWithPath: ArkProcess.binary).deletingLastPathComponent().path
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = Self.binDirectory + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["HOME"] = home.path
        env["GIT_CONFIG_GLOBAL"] = home.file("gitconfig")
        env["GIT_AUTHOR_NAME"] = "Pat Pusher"; env["GIT_AUTHOR_EMAIL"] = "pat@example.org"
        env["GIT_COMMITTER_NAME"] = "Pat Pusher"; env["GIT_COMMITTER_EMAIL"] = "pat@example.org"
        env.removeValue(forKey: "GIT_DIR")
        env.removeValue(forKey: "ARK_CONFIG")
        for (k, v) in extraEnv { env[k] = v }
        return env
    }

    init(env: [String: String] = [:]) throws {
        extraEnv = env
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binDirectory + "/git-remote-ark"),
            "git-remote-ark is not built next to \(ArkProcess.binary)")
        try "[protocol]\n\tallow = always\n".write(toFile: home.file("gitconfig"), atomically: true, encoding: .utf8)
    }

    /// Runs `git args...` in `cwd`.
    @discardableResult
    func run(_ args: [String], cwd: String, env: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.environment = environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
        try p.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = readToEnd(err); group.leave()
        }
        let outData = readToEnd(out)
        group.wait()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs git and requires success; returns trimmed stdout.
    @discardableResult
    func ok(_ args: [String], cwd: String, env: [String: String] = [:]) throws -> String {
        let r = try run(args, cwd: cwd, env: env)
        try #require(r.ok, "git \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `<id> <ref>` of every ref under refs/heads and refs/tags, sorted.
    func refs(_ repo: String, prefix: String = "") throws -> [String] {
        try ok(["-C", repo, "for-each-ref", "--format=%(objectname) %(refname)", prefix.isEmpty ? "refs/" : prefix], cwd: "/")
            .split(separator: "\n").map(String.init).sorted()
    }

    /// `git rev-list --all`, sorted.
    func revList(_ repo: String) throws -> [String] {
        try ok(["-C", repo, "rev-list", "--all"], cwd: "/").split(separator: "\n").map(String.init).sorted()
    }

    /// `git fsck [--strict]`: exit status and findings (sorted lines of its output).
    func fsck(_ repo: String, strict: Bool) throws -> (status: Int32, findings: [String]) {
        let r = try run(["-C", repo, "fsck", "--no-progress", "--no-dangling"] + (strict ? ["--strict"] : []), cwd: "/")
        let lines = (r.stdout + r.stderr).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Checking") }
        return (r.status, lines.sorted())
    }
}

/// Writing raw git objects with plumbing, exactly as given (`hash-object --literally`).
extension GitFixture {
    func hashObject(_ type: String, _ bytes: [UInt8]) throws -> String {
        String(decoding: try run(["hash-object", "-t", type, "-w", "--literally", "--stdin"], stdin: Data(bytes)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct RawEntry {
        var mode: String
        var name: [UInt8]
        var id: String
        init(_ mode: String, _ name: String, _ id: String) { self.mode = mode; self.name = Array(name.utf8); self.id = id }
        init(_ mode: String, bytes: [UInt8], _ id: String) { self.mode = mode; self.name = bytes; self.id = id }
    }

    /// A tree with these entries in git's order (a directory sorts as if its name ended in '/').
    func rawTree(_ entries: [RawEntry]) throws -> String {
        func key(_ e: RawEntry) -> [UInt8] { e.mode.hasPrefix("4") || e.mode.hasPrefix("04") ? e.name + [0x2f] : e.name }
        var bytes: [UInt8] = []
        for e in entries.sorted(by: { key($0).lexicographicallyPrecedes(key($1)) }) {
            bytes += Array(e.mode.utf8) + [0x20] + e.name + [0]
            var hex = Array(e.id.utf8)[...]
            while hex.count >= 2 {
                bytes.append(UInt8(String(decoding: hex.prefix(2), as: UTF8.self), radix: 16)!)
                hex = hex.dropFirst(2)
            }
        }
        return try hashObject("tree", bytes)
    }

    func blob(_ bytes: [UInt8]) throws -> String { try hashObject("blob", bytes) }
    func blob(_ text: String) throws -> String { try blob(Array(text.utf8)) }
}
