import Synchronization

/// Async permits per key, for code that suspends while holding them (unlike `Mutex`): at most
/// `limit` holders of one key at a time, the others wait in FIFO order; keys are independent.
/// With `limit` 1 it is a lock per key (single-flight).
final class KeyedSemaphore<Key: Hashable & Sendable>: Sendable {
    private struct Slot {
        var held = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    private let slots = Mutex<[Key: Slot]>([:])

    init(limit: Int) {
        precondition(limit > 0, "a semaphore needs at least one permit")
        self.limit = limit
    }

    func acquire(_ key: Key) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = slots.withLock { s -> Bool in
                var slot = s[key] ?? Slot()
                defer { s[key] = slot }
                if slot.held < limit { slot.held += 1; return true }
                slot.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Hands the permit to the next waiter of `key`, or frees it.
    func release(_ key: Key) {
        let next = slots.withLock { s -> CheckedContinuation<Void, Never>? in
            guard var slot = s[key] else { return nil }
            if slot.waiters.isEmpty {
                slot.held -= 1
                s[key] = slot.held == 0 ? nil : slot
                return nil
            }
            let first = slot.waiters.removeFirst()
            s[key] = slot
            return first
        }
        next?.resume()
    }

    /// Holders and waiters of `key`.
    func load(_ key: Key) -> (held: Int, waiting: Int) {
        slots.withLock { s in (s[key]?.held ?? 0, s[key]?.waiters.count ?? 0) }
    }

    /// Runs `body` holding a permit of `key`; a task cancelled while it waited does not run it.
    func with<T: Sendable>(_ key: Key, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        try Task.checkCancellation()
        return try await body()
    }
}
