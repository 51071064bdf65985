import Foundation
import Glibc

/// Runs the built `ark` executable as a subprocess, as a user would.
struct ArkProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutData: Data
        var ok: Bool { status == 0 }
    }

    /// The `ark` binary: $ARK_BIN, or the one built beside this test bundle.
    static let binary: String = {
        if let p = ProcessInfo.processInfo.environment["ARK_BIN"] { return p }
        var candidates: [URL] = []
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("ark"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("ark"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/ark"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c.path }
        fatalError("ark binary not found (tried \(candidates.map(\.path))); run swift build first or set ARK_BIN")
    }()

    /// Runs `ark args...` in `cwd` and waits for it.
    @discardableResult
    static func run(_ args: [String], cwd: String, env: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            let inp = Pipe()
            p.standardInput = inp
            try p.run()
            inp.fileHandleForWriting.write(stdin)
            try inp.fileHandleForWriting.close()
        } else {
            p.standardInput = FileHandle.nullDevice
            try p.run()
        }
        // Read both pipes concurrently so a large stdout cannot block on a full stderr pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = readToEnd(err); group.leave()
        }
        let outData = readToEnd(out)
        group.wait()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    /// Starts `ark args...` without waiting (for kill tests and long-running commands).
    static func start(_ args: [String], cwd: String, env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}

/// A fresh temporary directory, removed when the value is dropped by the test.
final class TempDir: Sendable {
    let path: String

    init(_ label: String = "ark-test") {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/\(label)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ rel: String) -> String { path + "/" + rel }

    func write(_ rel: String, _ contents: String, mode: Int = 0o644) throws {
        try write(rel, Data(contents.utf8), mode: mode)
    }

    func write(_ rel: String, _ data: Data, mode: Int = 0o644) throws {
        let full = file(rel)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        chmod(full, mode_t(mode))
    }
}

/// Everything until end of file from a pipe, retrying reads a signal interrupted
/// (`readDataToEndOfFile` traps on EINTR).
func readToEnd(_ pipe: Pipe) -> Data {
    let fd = pipe.fileHandleForReading.fileDescriptor
    var out = Data()
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n > 0 { out.append(contentsOf: buf[0..<n]); continue }
        if n < 0 && errno == EINTR { continue }
        return out
    }
}

/// Runs the `ark-hostile` executable (built beside `ark`): a misbehaving peer.
enum HostilePeer {
    static var binary: String {
        URL(fileURLWithPath: ArkProcess.binary).deletingLastPathComponent().appendingPathComponent("ark-hostile").path
    }

    /// Runs `ark-hostile attack args...` to completion; returns its JSON report.
    static func run(_ attack: String, _ args: [String], cwd: String) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [attack] + args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = readToEnd(out)
        let errText = String(decoding: readToEnd(err), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, let report = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("ark-hostile \(attack) failed (status \(p.terminationStatus)): \(errText)")
        }
        return report
    }

    /// Starts `ark-hostile attack args...` in the background (stdout and stderr to `log`).
    static func start(_ attack: String, _ args: [String], cwd: String, log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [attack] + args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }
}
