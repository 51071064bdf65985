import Synchronization

/// A value one service publishes once it has started (the listening port, the running
/// discovery), awaited by services later in the same `ServiceGroup`: the group starts every
/// service at once, in order, so a service that needs an earlier one's result waits here.
/// The publisher publishes exactly once, nil when it could not start.
final class StartupValue<Value: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Value?, Never>])
        case published(Value?)
    }

    private let state = Mutex<State>(.waiting([]))

    func publish(_ value: Value?) {
        let waiters = state.withLock { s -> [CheckedContinuation<Value?, Never>] in
            guard case .waiting(let waiters) = s else { return [] }
            s = .published(value)
            return waiters
        }
        for w in waiters { w.resume(returning: value) }
    }

    /// The published value; nil when the publisher could not start.
    func value() async -> Value? {
        await withCheckedContinuation { (c: CheckedContinuation<Value?, Never>) in
            let published = state.withLock { s -> Value?? in
                switch s {
                case .waiting(var waiters):
                    waiters.append(c)
                    s = .waiting(waiters)
                    return .none
                case .published(let value):
                    return .some(value)
                }
            }
            if let published { c.resume(returning: published) }
        }
    }
}
