import Foundation
import Logging
import Synchronization

/// Rate limits log lines per key (an address, a node id): at most one line per `interval`
/// seconds for a key; the next line that passes says how many were suppressed in between. A
/// flood of hostile connections thus costs a few log lines, not one per connection.
public final class LogLimiter: Sendable {
    private struct Entry {
        var last: Date
        var suppressed: Int
    }

    private let interval: Double
    private let maxKeys: Int
    private let entries = Mutex<[String: Entry]>([:])

    public init(interval: Double = 60, maxKeys: Int = 4096) {
        self.interval = interval
        self.maxKeys = maxKeys
    }

    /// Logs `message()` at `level` unless a line for `key` was logged within the interval.
    public func log(_ logger: Logger, _ level: Logger.Level, key: String, _ message: () -> String) {
        guard logger.logLevel <= level else { return }
        guard let suppressed = pass(key) else { return }
        let note = suppressed > 0 ? " (\(suppressed) similar lines suppressed)" : ""
        logger.log(level: level, "\(message())\(note)")
    }

    /// nil when `key` is silenced now, else how many lines were suppressed since its last line.
    func pass(_ key: String, now: Date = Date()) -> Int? {
        entries.withLock { e in
            if var entry = e[key], now.timeIntervalSince(entry.last) < interval {
                entry.suppressed += 1
                e[key] = entry
                return nil
            }
            if e.count >= maxKeys { // bounded memory under a flood of keys: forget idle ones
                e = e.filter { now.timeIntervalSince($0.value.last) < interval }
                if e.count >= maxKeys { e.removeAll() }
            }
            let suppressed = e[key]?.suppressed ?? 0
            e[key] = Entry(last: now, suppressed: 0)
            return suppressed
        }
    }
}
