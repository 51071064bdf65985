import Foundation
import Logging
import Synchronization

/// Rate limits log lines per key (an address, a node id): at most one line per `interval`
/// seconds for a key, and at most `maxLines` per interval over all keys (a flood from many
/// addresses); the next line that passes says how many were suppressed in between. A flood of
/// hostile connections thus costs a few log lines, not one per connection.
final class LogLimiter: Sendable {
    private struct State {
        var last: [String: Date] = [:]
        var suppressed = 0
        var windowStart = Date.distantPast
        var windowLines = 0
    }

    private let interval: Double
    private let maxLines: Int
    private let maxKeys: Int
    private let state = Mutex(State())

    init(interval: Double = 60, maxLines: Int = 20, maxKeys: Int = 4096) {
        self.interval = interval
        self.maxLines = maxLines
        self.maxKeys = maxKeys
    }

    /// Logs `message()` at `level` unless a line for `key` was logged within the interval or
    /// the interval's lines are used up.
    func log(_ logger: Logger, _ level: Logger.Level, key: String, _ message: () -> String) {
        guard logger.logLevel <= level else { return }
        guard let suppressed = pass(key) else { return }
        let note = suppressed > 0 ? " (\(suppressed) more lines of this kind suppressed)" : ""
        logger.log(level: level, "\(message())\(note)")
    }

    /// nil when the line is silenced, else how many lines were suppressed since the last one.
    func pass(_ key: String, now: Date = Date()) -> Int? {
        state.withLock { s in
            if now.timeIntervalSince(s.windowStart) >= interval {
                s.windowStart = now
                s.windowLines = 0
            }
            if let last = s.last[key], now.timeIntervalSince(last) < interval {
                s.suppressed += 1
                return nil
            }
            if s.windowLines >= maxLines {
                s.suppressed += 1
                return nil
            }
            if s.last.count >= maxKeys {  // bounded memory under a flood of keys: forget idle ones
                s.last = s.last.filter { now.timeIntervalSince($0.value) < interval }
                if s.last.count >= maxKeys { s.last.removeAll() }
            }
            s.last[key] = now
            s.windowLines += 1
            defer { s.suppressed = 0 }
            return s.suppressed
        }
    }
}
