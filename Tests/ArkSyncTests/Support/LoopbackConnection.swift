import ArkCore
import Foundation
import Synchronization

@testable import ArkSync

/// One end of an in-memory connection between two `PeerHandler`s: requests and notifications
/// are delivered straight to the other side's handler, with an optional injected delay, a
/// failure switch and a filter that rewrites responses (a lying peer).
final class LoopbackConnection: PeerConnection, Sendable {
    struct Faults {
        var delay: Double = 0
        var failing = false
        /// Applied to every response this end receives.
        var tamper: (@Sendable ([UInt8]) -> [UInt8])?
        /// The next this many requests fail at once with `failWith` (a connection hiccup, or a
        /// deadline run into), without reaching the other side.
        var failNext = 0
        var failWith = SyncError.closed
    }

    let remote: ObjectID
    private let remoteHandler: any PeerHandler
    private let localHandler: any PeerHandler
    private let state = Mutex<(closed: Bool, partner: LoopbackConnection?, faults: Faults)>((false, nil, Faults()))
    /// Notifications sent from this end.
    let notificationsSent = Mutex(0)
    /// Requests sent from this end (failed ones included).
    let requestsSent = Mutex(0)

    private init(remote: ObjectID, remoteHandler: any PeerHandler, localHandler: any PeerHandler) {
        self.remote = remote
        self.remoteHandler = remoteHandler
        self.localHandler = localHandler
    }

    /// Connects two handlers; returns (a's end, whose remote is b; b's end, whose remote is a).
    static func pair(_ a: (id: ObjectID, handler: any PeerHandler), _ b: (id: ObjectID, handler: any PeerHandler)) -> (
        LoopbackConnection, LoopbackConnection
    ) {
        let toB = LoopbackConnection(remote: b.id, remoteHandler: b.handler, localHandler: a.handler)
        let toA = LoopbackConnection(remote: a.id, remoteHandler: a.handler, localHandler: b.handler)
        toB.state.withLock { $0.partner = toA }
        toA.state.withLock { $0.partner = toB }
        return (toB, toA)
    }

    var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    private func partnerIfOpen() throws -> (LoopbackConnection, Faults) {
        let (closed, partner, faults) = state.withLock { ($0.closed, $0.partner, $0.faults) }
        guard !closed, let partner else { throw SyncError.closed }
        return (partner, faults)
    }

    func request(_ body: [UInt8], deadline: Double) async throws -> [UInt8] {
        let (partner, faults) = try partnerIfOpen()
        requestsSent.withLock { $0 += 1 }
        let failure = state.withLock { s -> SyncError? in
            guard s.faults.failNext > 0 else { return nil }
            s.faults.failNext -= 1
            return s.faults.failWith
        }
        if let failure { throw failure }
        let handler = remoteHandler
        let response = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            group.addTask {
                if faults.delay > 0 { try await Task.sleep(for: .seconds(faults.delay)) }
                if faults.failing { throw SyncError.closed }
                do { return try await handler.handleRequest(body, from: partner) } catch let e as SyncError {
                    throw SyncError.remote(e.description)
                } catch { throw SyncError.remote("\(error)") }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(deadline))
                throw SyncError.timeout
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        return faults.tamper.map { $0(response) } ?? response
    }

    func notify(_ body: [UInt8]) async throws {
        let (partner, faults) = try partnerIfOpen()
        if faults.failing { throw SyncError.closed }
        if faults.delay > 0 { try await Task.sleep(for: .seconds(faults.delay)) }
        notificationsSent.withLock { $0 += 1 }
        await remoteHandler.handleNotification(body, from: partner)
    }

    func close() {
        let partner = state.withLock { s -> LoopbackConnection? in
            guard !s.closed else { return nil }
            s.closed = true
            return s.partner
        }
        guard let partner else { return }
        partner.state.withLock { $0.closed = true }
        // Each side learns of the close through its own handler.
        let (remote, local) = (remoteHandler, localHandler)
        Task {
            await local.connectionClosed(self)
            await remote.connectionClosed(partner)
        }
    }
}
