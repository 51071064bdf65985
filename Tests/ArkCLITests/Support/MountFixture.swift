import Foundation
import Glibc
import Testing

/// FUSE availability. With CI=true a missing /dev/fuse fails the mount tests instead of
/// disabling them.
enum FuseSupport {
    static var available: Bool { access("/dev/fuse", R_OK | W_OK) == 0 }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var shouldRun: Bool { available || inCI }

    static func require() throws {
        try #require(available, "/dev/fuse is not usable: install fuse3 and load the fuse module")
    }
}

/// Runs a shell command line (for diff, cp, tar, rsync, find ...) and returns status and output.
@discardableResult
func sh(_ command: String, cwd: String = "/") throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    nonisolated(unsafe) var errData = Data()
    let g = DispatchGroup()
    g.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile(); g.leave()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    g.wait()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// A store with committed content and helpers to mount it.
final class MountFixture: Sendable {
    let dir: TempDir
    var store: String { dir.file("data") }
    var src: String { dir.file("src") }

    init() { dir = TempDir("ark-mount") }

    @discardableResult
    func ark(_ args: String...) throws -> ArkProcess.Result {
        let r = try ArkProcess.run(args, cwd: dir.path)
        #expect(r.ok, "ark \(args.joined(separator: " ")) failed: \(r.stderr)")
        return r
    }

    func commit(_ message: String = "snapshot", repo: String = "demo") throws -> String {
        try ark("commit", "src", "--repo", repo, "-m", message).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An empty mountpoint directory.
    func mountpoint(_ name: String = "mnt") throws -> String {
        let mp = dir.file(name)
        try FileManager.default.createDirectory(atPath: mp, withIntermediateDirectories: true)
        return mp
    }

    /// Mounts with --daemon (returns once serving) and unmounts after `body`.
    func withMount<T>(_ rev: String?, _ body: (String) throws -> T) throws -> T {
        let mp = try mountpoint("mnt-\(UInt32.random(in: 0...UInt32.max))")
        var args = ["mount", "--daemon"]
        if let rev { args.append(rev) }
        args.append(mp)
        let r = try ArkProcess.run(args, cwd: dir.path)
        try #require(r.ok, "mount failed: \(r.stderr)")
        defer {
            let u = try? ArkProcess.run(["unmount", mp], cwd: dir.path)
            if u?.ok != true { _ = try? ArkProcess.run(["unmount", "--force", mp], cwd: dir.path) }
        }
        return try body(mp)
    }

    static func isMounted(_ mp: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(" \(mp) ")
    }

    /// Waits until `mp` appears in (or disappears from) the mount table.
    static func waitMounted(_ mp: String, _ mounted: Bool = true, timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if isMounted(mp) == mounted { return true }
            usleep(20_000)
        }
        return false
    }
}
