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
        // posix_spawn rather than Foundation's Process, whose set-up (helper threads, a socket
        // to watch the child) cost tens of milliseconds of a mount's start.
        // The real path (not /proc/self/exe) so the child shows up as ark in ps.
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let args = [exe] + CommandLine.arguments.dropFirst().filter { $0 != "--daemon" }
        var env = ProcessInfo.processInfo.environment
        env[childMarker] = "1"
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0, (out + err).allSatisfy({ fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }) else {
            throw ArkError(.io, "cannot create pipes for the mount process: \(String(cString: strerror(errno)))")
        }
        defer { close(out[0]); close(err[0]) }
        closeOnExecAboveStderr()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, nil, argv, envp)
        close(out[1]); close(err[1])
        guard rc == 0 else { throw ArkError(.io, "cannot start the mount process \(exe): \(String(cString: strerror(rc)))") }

        if readAll(out[0], upTo: 6) == Array("ready\n".utf8) { return }
        let msg = String(decoding: readAll(err[0], upTo: 1 << 20), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import (macros).
        let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        // The child's own one-line error and exit status (e.g. 2 for a bad ark.toml).
        guard !msg.isEmpty else { throw ArkError(.io, "the mount process exited with status \(code) before serving") }
        Terminal.err(msg)
        throw ExitCode(code == 0 ? 1 : code)
    }

    /// Marks every descriptor above stderr close-on-exec, so the daemon inherits only the pipes
    /// set up for it. Whoever started this process may have left descriptors open to it: a
    /// daemon holding on to them for its lifetime would, for example, keep a caller that
    /// watches its child through an inherited socket (Foundation's `Process` does) waiting
    /// for this process to end.
    private static func closeOnExecAboveStderr() {
        for d in FileDescriptor.openDescriptors() where d.fd > 2 { _ = fcntl(d.fd, F_SETFD, FD_CLOEXEC) }
    }

    /// Up to `limit` bytes from `fd`, until end of file.
    private static func readAll(_ fd: Int32, upTo limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: min(limit, 1 << 16))
        while bytes.count < limit {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, min($0.count, limit - bytes.count)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        return bytes
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
