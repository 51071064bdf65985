import Foundation
import Glibc

/// One running `git` subprocess with its stdin and stdout as pipes; stdout is read through a
/// buffer (lines, exact byte counts, or streamed). Owns the process: it is terminated and
/// reaped when this is dropped.
final class GitProcess {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    private var eof = false
    let what: String

    /// Runs `git [--git-dir=gitDir] args...`.
    init(gitDir: String?, _ args: [String]) throws {
        what = "git " + args.joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + (gitDir.map { ["--git-dir=" + $0] } ?? []) + args
        var env = ProcessInfo.processInfo.environment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["LC_ALL"] = "C"
        env["GIT_NO_REPLACE_OBJECTS"] = "1"
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw ArkError(.io, "cannot run git: \(error)") }
    }

    deinit {
        // SIGKILL, not SIGTERM: a child started from a thread that blocks signals (a daemon's
        // worker thread) inherits that mask, and a blocked SIGTERM would leave it running,
        // stuck writing to a pipe nobody reads, while this waits for it.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Writes all of `bytes` to the process's stdin.
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func write(_ raw: UnsafeRawBufferPointer) throws {
        let fd = input.fileHandleForWriting.fileDescriptor
        var done = 0
        while done < raw.count {
            let n = try syscall("write to \(what)") { Glibc.write(fd, raw.baseAddress! + done, raw.count - done) }
            done += n
        }
    }

    func closeInput() throws { try input.fileHandleForWriting.close() }

    private func fill() throws -> Bool {
        if start > 0 && start == end { start = 0; end = 0 }
        if end == buffer.count {
            if start > 0 {
                buffer.withUnsafeMutableBytes { b in b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: end - start) }
                end -= start; start = 0
            } else {
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
        }
        let fd = output.fileHandleForReading.fileDescriptor
        let n = try buffer.withUnsafeMutableBytes { b in
            try syscall("read from \(what)") { Glibc.read(fd, b.baseAddress! + end, b.count - end) }
        }
        if n == 0 { eof = true; return false }
        end += n
        return true
    }

    /// The next line without its newline, or nil at end of output.
    func readLine() throws -> [UInt8]? {
        var scanned = start
        while true {
            if let nl = buffer[scanned..<end].firstIndex(of: 0x0a) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return line
            }
            scanned = end
            let base = start
            if try !fill() {
                guard start < end else { return nil }
                let line = Array(buffer[start..<end]); start = end
                return line
            }
            scanned -= base - start  // the buffer may have been compacted
        }
    }

    /// Exactly `count` bytes.
    func read(count: Int) throws -> [UInt8] {
        var out = [UInt8](); out.reserveCapacity(count)
        while out.count < count {
            if start == end, try !fill() { throw ArkError(.io, "\(what) ended early") }
            let n = min(count - out.count, end - start)
            out += buffer[start..<start + n]; start += n
        }
        return out
    }

    /// Up to `into.count` bytes (at least one unless `into` is empty); throws at end of output.
    func read(into: UnsafeMutableRawBufferPointer) throws -> Int {
        guard into.count > 0 else { return 0 }
        if start == end, try !fill() { throw ArkError(.io, "\(what) ended early") }
        let n = min(into.count, end - start)
        buffer.withUnsafeBytes { b in into.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: n) }
        start += n
        return n
    }

    /// Waits for exit; throws with git's first error line unless it succeeded.
    func finish() throws {
        try? input.fileHandleForWriting.close()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let line =
                String(decoding: err, as: UTF8.self).split(separator: "\n").first.map(String.init)
                ?? "exit status \(process.terminationStatus)"
            throw ArkError(.io, "\(what) failed: \(line)")
        }
    }

    /// Runs git to completion and returns its stdout.
    static func output(gitDir: String?, _ args: [String]) throws -> [UInt8] {
        let p = try GitProcess(gitDir: gitDir, args)
        try p.closeInput()
        var out: [UInt8] = []
        while let line = try p.readLine() { out += line; out.append(0x0a) }
        try p.finish()
        return out
    }
}
