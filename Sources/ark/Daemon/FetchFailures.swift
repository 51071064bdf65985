import ArkCore
import Foundation
import Synchronization

/// Chunks whose on-demand fetch just failed, remembered for a few seconds. When a read fails,
/// the kernel retries it at once (its read-ahead, then the page itself): without this, every
/// retry would wait out the whole fetch deadline again, and a read of an unreachable file
/// would take three deadlines instead of one. A read after the window fetches again.
final class FetchFailures: Sendable {
    static let window: Double = 5
    static let maxEntries = 4096

    private let failures = Mutex<[ObjectID: (error: ArkError, at: Date)]>([:])

    /// The error of a fetch of `id` that failed within the window, if any.
    func recent(_ id: ObjectID) -> ArkError? {
        failures.withLock { f in
            guard let e = f[id] else { return nil }
            if -e.at.timeIntervalSinceNow < Self.window { return e.error }
            f[id] = nil
            return nil
        }
    }

    func record(_ id: ObjectID, _ error: ArkError) {
        failures.withLock { f in
            if f.count >= Self.maxEntries { f.removeAll(keepingCapacity: true) }
            f[id] = (error, Date())
        }
    }
}
