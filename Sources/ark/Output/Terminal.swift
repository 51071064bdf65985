import Foundation
import Glibc
import Synchronization

/// Writes to stdout/stderr without Foundation buffering surprises, and reports progress
/// (bytes, rate, ETA) on stderr when it is a terminal.
enum Terminal {
    static let stderrIsTTY = isatty(2) == 1

    /// One line (or lines) of text output; control characters in it are escaped
    /// (`escaped(_:keepingLines:)`), so nothing printed can drive the terminal.
    static func out(_ s: String) { write(1, escaped(s, keepingLines: true) + "\n") }
    static func err(_ s: String) { write(2, escaped(s, keepingLines: true) + "\n") }

    static func write(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        writeAll(fd, &bytes)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let r = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if r < 0 { if errno == EINTR { continue }; return false }
            done += r
        }
        return true
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: inout [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    static func json(_ value: some Encodable) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? enc.encode(value)) ?? Data("null".utf8)
        // Not `out`: the encoder's escaping is lossless, ours would change DEL and C1 controls.
        write(1, String(decoding: data, as: UTF8.self) + "\n")
    }
}

/// A progress line on a TTY: "label  1.2 GiB / 2.0 GiB  512 MiB/s  ETA 2s", at most 10 times a
/// second. Safe to update from several threads.
final class ProgressLine: Sendable {
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private let state = Mutex((last: Date.distantPast, shown: false))

    init(_ label: String, enabled: Bool = Terminal.stderrIsTTY) {
        self.label = label
        self.enabled = enabled
    }

    func update(done: UInt64, total: UInt64?, extra: String = "", force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        let due = state.withLock { s -> Bool in
            guard force || now.timeIntervalSince(s.last) >= 0.1 else { return false }
            s.last = now
            s.shown = true
            return true
        }
        guard due else { return }
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        var line = "\(label)  \(Format.bytes(done))"
        if let total, total > 0 {
            line += " / \(Format.bytes(total))"
            if rate > 0, done < total { line += "  ETA \(Format.duration(Double(total - done) / rate))" }
        }
        line += "  \(Format.bytes(UInt64(rate)))/s"
        if !extra.isEmpty { line += "  \(extra)" }
        Terminal.write(2, "\r\u{1B}[K" + Terminal.escaped(line))
    }

    func finish() {
        if state.withLock({ $0.shown }) { Terminal.write(2, "\r\u{1B}[K") }
    }
}
