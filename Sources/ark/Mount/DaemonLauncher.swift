import ArgumentParser
import ArkCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--daemon`: re-executes this command in the foreground as a child in a new session and
/// returns only when the child reports that the mount is serving (or failed). Readiness is
/// the child's "ready" line on a pipe, written from the FUSE init callback.
enum DaemonLauncher {
    static let childMarker = "ARK_DAEMON_CHILD"

    static func launch() throws {
        let p = Process()
        // The real path (not /proc/self/exe) so the child shows up as ark in ps.
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.arguments = Array(CommandLine.arguments.dropFirst()).filter { $0 != "--daemon" }
        var env = ProcessInfo.processInfo.environment
        env[childMarker] = "1"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let line = String(decoding: out.fileHandleForReading.readData(ofLength: 6), as: UTF8.self)
        if line == "ready\n" { return }
        p.waitUntilExit()
        let msg = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // The child's own one-line error and exit status (e.g. 2 for a bad ark.toml).
        guard !msg.isEmpty else { throw ArkError(.io, "the mount process exited with status \(p.terminationStatus) before serving") }
        Terminal.err(msg)
        throw ExitCode(p.terminationStatus == 0 ? 1 : p.terminationStatus)
    }

    /// In the child: detach from the terminal's session early.
    static func detachIfChild() {
        guard ProcessInfo.processInfo.environment[childMarker] == "1" else { return }
        setsid()
    }

    /// In the child: tell the parent the mount serves, then stop writing to its pipes.
    static func signalReady() {
        guard ProcessInfo.processInfo.environment[childMarker] == "1" else { return }
        _ = "ready\n".withCString { write(1, $0, 6) }
        let null = open("/dev/null", O_RDWR)
        if null >= 0 { dup2(null, 1); dup2(null, 2); close(null) }
    }
}
