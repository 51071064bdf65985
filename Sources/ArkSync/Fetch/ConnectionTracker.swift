import ArkCore
import Foundation
import Synchronization

/// Forwards everything to the sync engine and tracks which peers are connected, so each
/// dialer sleeps until its peer's connection closes instead of checking on a timer.
package final class ConnectionTracker: PeerHandler, Sendable {
    private struct State {
        var open: [ObjectID: Int] = [:]
        var waiters: [ObjectID: [CheckedContinuation<Void, Never>]] = [:]
        var anyWaiters: [CheckedContinuation<Void, Never>] = []
    }

    package let engine: SyncEngine
    private let state = Mutex(State())

    package init(engine: SyncEngine) { self.engine = engine }

    package func isConnected(_ node: ObjectID) -> Bool { state.withLock { ($0.open[node] ?? 0) > 0 } }

    package var hasConnection: Bool { state.withLock { $0.open.values.contains { $0 > 0 } } }

    /// Returns once `node` has no open connection (at once if it has none now).
    package func waitUntilDisconnected(_ node: ObjectID) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if (s.open[node] ?? 0) == 0 { return true }
                s.waiters[node, default: []].append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Returns once any peer is connected, or after `timeout` seconds.
    package func waitForAnyConnection(timeout: Double) async {
        guard !hasConnection else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9)) }
            group.addTask { await self.waitForConnection() }
            await group.next()
            group.cancelAll()
            wakeAnyWaiters()  // the timer won: its cancelled partner returns; other callers wait on
        }
    }

    /// Returns once any peer is connected, or once the task is cancelled and woken.
    private func waitForConnection() async {
        while !Task.isCancelled && !hasConnection {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if Task.isCancelled || s.open.values.contains(where: { $0 > 0 }) { return true }
                    s.anyWaiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    private func wakeAnyWaiters() {
        let w = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.anyWaiters.removeAll() }; return s.anyWaiters
        }
        for c in w { c.resume() }
    }

    /// Wakes every waiter (shutdown).
    package func releaseAll() {
        let all = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.waiters.removeAll() }
            return s.waiters.values.flatMap { $0 }
        }
        for c in all { c.resume() }
    }

    package func connectionOpened(_ connection: any PeerConnection) async {
        // The engine first: whoever is woken (a prefetch, a mount read) fetches through it.
        await engine.connectionOpened(connection)
        state.withLock { $0.open[connection.remote, default: 0] += 1 }
        wakeAnyWaiters()
    }

    package func connectionClosed(_ connection: any PeerConnection) async {
        await engine.connectionClosed(connection)
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            let n = max((s.open[connection.remote] ?? 1) - 1, 0)
            s.open[connection.remote] = n
            guard n == 0 else { return [] }
            return s.waiters.removeValue(forKey: connection.remote) ?? []
        }
        for c in wake { c.resume() }
    }

    package func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        try await engine.handleRequest(body, from: connection)
    }

    package func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {
        await engine.handleNotification(body, from: connection)
    }
}
