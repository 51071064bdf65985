import ArkCore
import Foundation

/// How many announcements a peer may deliver: a token bucket per delivering peer. Each one
/// costs a signature check and an index write before any lane or coalescing applies, so a
/// member that sends them at wire speed would otherwise keep the index writer and the
/// cooperative threads busy for everyone. The burst covers an import that moves a writer's
/// every head at once (`maxHeadsPerWriter`); beyond the rate, announcements are dropped (the
/// heads they name are caught up by the next reconciliation) with one log line a minute.
struct AnnouncementBudget {
    static let refillPerSecond: Double = 200

    private var buckets: [ObjectID: (tokens: Double, at: ContinuousClock.Instant)] = [:]
    private(set) var dropped: [ObjectID: Int] = [:]
    private var lastReport: [ObjectID: ContinuousClock.Instant] = [:]

    /// Takes one token of `peer`'s bucket (capacity `burst`); false when it is empty.
    mutating func take(_ peer: ObjectID, burst: Int, now: ContinuousClock.Instant = .now) -> Bool {
        var b = buckets[peer] ?? (Double(burst), now)
        let elapsed = Double(b.at.duration(to: now).components.attoseconds) / 1e18 + Double(b.at.duration(to: now).components.seconds)
        b.tokens = min(Double(burst), b.tokens + elapsed * Self.refillPerSecond)
        b.at = now
        let ok = b.tokens >= 1
        if ok { b.tokens -= 1 } else { dropped[peer, default: 0] += 1 }
        buckets[peer] = b
        if buckets.count > 4096 { buckets = buckets.filter { $0.value.tokens < Double(burst) } }
        return ok
    }

    /// The number dropped since the last report, if a report (one a minute per peer) is due.
    mutating func report(_ peer: ObjectID, now: ContinuousClock.Instant = .now) -> Int? {
        guard let n = dropped[peer], n > 0 else { return nil }
        if let last = lastReport[peer], last.duration(to: now) < .seconds(60) { return nil }
        lastReport[peer] = now
        dropped[peer] = 0
        return n
    }
}
