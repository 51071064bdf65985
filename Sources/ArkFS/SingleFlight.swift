import Dispatch
import Synchronization

/// Concurrent loads of one key share one load: the first caller runs it, later callers wait
/// for its result instead of reading the same object again (a read-ahead and the request it
/// anticipated, or two readers of one file).
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// A load in progress; other callers wait for its result.
    private final class Flight: Sendable {
        private let done = DispatchGroup()
        private let result = Mutex<Result<Value, Error>?>(nil)

        init() { done.enter() }

        func finish(_ r: Result<Value, Error>) {
            result.withLock { $0 = r }
            done.leave()
        }

        func wait() throws -> Value {
            done.wait()
            return try result.withLock { $0! }.get()
        }
    }

    private let flights = Mutex<[Key: Flight]>([:])

    /// The result of `load` for `key`, run here unless a load of `key` is already running,
    /// in which case this waits for that one's result.
    func run(_ key: Key, _ load: () throws -> Value) throws -> Value {
        let (flight, leads): (Flight, Bool) = flights.withLock { f in
            if let running = f[key] { return (running, false) }
            let mine = Flight()
            f[key] = mine
            return (mine, true)
        }
        guard leads else { return try flight.wait() }
        let r = Result { try load() }
        flights.withLock { _ = $0.removeValue(forKey: key) }
        flight.finish(r)
        return try r.get()
    }

    /// Whether a load of `key` is running.
    func isRunning(_ key: Key) -> Bool { flights.withLock { $0[key] != nil } }
}
