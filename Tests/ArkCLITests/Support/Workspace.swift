import Foundation
import Glibc
import Testing

/// A temporary working directory for end-to-end runs: `ark` runs in it (store `./data`), and
/// helpers build source trees and compare exports.
final class Workspace {
    let dir = TempDir("ark-cli")
    var path: String { dir.path }
    var store: String { dir.file("data") }

    @discardableResult
    func ark(_ args: String...) throws -> ArkProcess.Result { try ark(args) }

    @discardableResult
    func ark(_ args: [String]) throws -> ArkProcess.Result {
        try ArkProcess.run(args, cwd: path, env: ["ARK_AUTHOR": "Test User <test@example.org>"])
    }

    /// Runs `ark`, requires success, and returns trimmed stdout.
    func ok(_ args: String...) throws -> String {
        let r = try ark(args)
        try #require(r.ok, "ark \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ rel: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        try dir.write(rel, Data(bytes), mode: mode)
    }

    func symlink(_ rel: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: dir.file(rel), withDestinationPath: target)
    }

    func mkdir(_ rel: String) throws {
        try FileManager.default.createDirectory(atPath: dir.file(rel), withIntermediateDirectories: true)
    }

    func read(_ rel: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: dir.file(rel)))) }

    /// `diff -r` without following symlinks; returns the output when the trees differ.
    func treesDiffer(_ a: String, _ b: String) throws -> String? {
        let r = try ExternalTool.run("diff", ["-r", "--no-dereference", dir.file(a), dir.file(b)])
        return r.status == 0 ? nil : "diff exited \(r.status): \(r.output.prefix(2000))"
    }

    /// Permission bits of a path (not following symlinks).
    func mode(_ rel: String) -> Int {
        var st = stat()
        guard lstat(dir.file(rel), &st) == 0 else { return -1 }
        return Int(st.st_mode & 0o7777)
    }

    func exists(_ rel: String) -> Bool {
        var st = stat()
        return lstat(dir.file(rel), &st) == 0
    }

    /// Parses JSON printed by `ark ... --json`.
    func json(_ args: String...) throws -> Any {
        let r = try ark(args)
        try #require(r.ok, "ark \(args.joined(separator: " ")): \(r.stderr)")
        return try JSONSerialization.jsonObject(with: r.stdoutData)
    }
}

/// A seeded generator (splitmix64) for reproducible random file contents.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { buf in
            var i = 0
            while i + 8 <= n { buf.storeBytes(of: next(), toByteOffset: i, as: UInt64.self); i += 8 }
            while i < n { buf[i] = UInt8(truncatingIfNeeded: next()); i += 1 }
        }
        return out
    }
}
