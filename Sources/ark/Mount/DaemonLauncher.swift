import ArgumentParser
import ArkCore
import Foundation
import Glibc

/// `--daemon`: runs this command in the foreground in a child in a new session and returns
/// in the parent only when the child reports that the mount is serving (or failed).
/// Readiness is the child's "ready" line on a pipe, written from the FUSE init callback.
enum DaemonLauncher {
    static let childMarker = "ARK_DAEMON_CHILD"

    enum Role { case parent, child }

    /// In the parent: returns `.parent` once the child serves, or throws its error. In a
    /// forked child: returns `.child`, and the caller goes on to mount in the foreground.
    static func launch() throws -> Role {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0, (out + err).allSatisfy({ fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }) else {
            throw ArkError(.io, "cannot create pipes for the mount process: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        if isSingleThreaded() {
            // fork without exec: the child starts from this process's state instead of loading
            // and initializing the program again (~10 ms of a mount's start). Only while no
            // other thread exists, so no lock can be held by a thread the child lacks.
            pid = fork()
            if pid == 0 {
                becomeDaemon(stdout: out[1], stderr: err[1])
                return .child
            }
            guard pid > 0 else {
                (out + err).forEach { close($0) }
                throw ArkError(.io, "cannot start the mount process: \(String(cString: strerror(errno)))")
            }
        } else {
            do { pid = try spawn(stdout: out[1], stderr: err[1]) } catch {
                (out + err).forEach { close($0) }
                throw error
            }
        }
        close(out[1]); close(err[1])
        defer { close(out[0]); close(err[0]) }

        if readAll(out[0], upTo: 6) == Array("ready\n".utf8) { return .parent }
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

    private static func isSingleThreaded() -> Bool {
        guard let dir = opendir("/proc/self/task") else { return false }
        defer { closedir(dir) }
        var tasks = 0
        while let e = readdir(dir) {
            if e.pointee.d_name.0 != UInt8(ascii: ".") { tasks += 1 }
        }
        return tasks == 1
    }

    /// In the forked child: a new session, stdin from /dev/null, stdout and stderr to the
    /// parent's pipes, and no other inherited descriptor (a caller watching its child through
    /// one, as Foundation's `Process` does, would otherwise wait for the daemon to end).
    private static func becomeDaemon(stdout: Int32, stderr: Int32) {
        setsid()
        let null = open("/dev/null", O_RDONLY)
        if null >= 0 { dup2(null, 0) }
        dup2(stdout, 1)
        dup2(stderr, 2)
        for d in FileDescriptor.openDescriptors() where d.fd > 2 { close(d.fd) }
        setenv(childMarker, "1", 1)
    }

    /// Where fork is not safe: re-executes this program as the child.
    private static func spawn(stdout: Int32, stderr: Int32) throws -> pid_t {
        // posix_spawn rather than Foundation's Process, whose set-up (helper threads, a socket
        // to watch the child) cost tens of milliseconds of a mount's start.
        // The real path (not /proc/self/exe) so the child shows up as ark in ps.
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let args = [exe] + CommandLine.arguments.dropFirst().filter { $0 != "--daemon" }
        var env = ProcessInfo.processInfo.environment
        env[childMarker] = "1"
        closeOnExecAboveStderr()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, nil, argv, envp)
        guard rc == 0 else { throw ArkError(.io, "cannot start the mount process \(exe): \(String(cString: strerror(rc)))") }
        return pid
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

    /// In a re-executed child: detach from the terminal's session early.
    static func detachIfChild() {
        guard isChild else { return }
        setsid()
    }

    private static var isChild: Bool { getenv(childMarker).map { String(cString: $0) == "1" } ?? false }

    /// In the child: tell the parent the mount serves, then stop writing to its pipes.
    static func signalReady() {
        guard isChild else { return }
        _ = "ready\n".withCString { write(1, $0, 6) }
        let null = open("/dev/null", O_RDWR)
        if null >= 0 { dup2(null, 1); dup2(null, 2); close(null) }
    }
}
