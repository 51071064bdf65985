import Foundation
import Glibc

/// Figures of a running process from /proc, for the bounds hostile-peer tests assert.
struct ProcessStats {
    let pid: Int32

    /// CPU seconds the process used so far (utime + stime of /proc/PID/stat).
    func cpuSeconds() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may contain spaces) start after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { throw FixtureError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so utime (field 14) and stime (field 15) are 11 and 12.
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else {
            throw FixtureError("unreadable /proc/\(pid)/stat: \(stat)")
        }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A `kB` line of /proc/PID/status (VmHWM, VmRSS), in bytes.
    func status(_ key: String) throws -> UInt64 {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }),
            let kb = UInt64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else {
            throw FixtureError("no \(key) in /proc/\(pid)/status")
        }
        return kb * 1024
    }

    /// Open file descriptors now.
    func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0 }
}
