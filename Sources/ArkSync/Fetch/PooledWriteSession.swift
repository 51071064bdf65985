import ArkCore

/// A `WriteSession` used from `async` code: opening it (it takes the store lock), storing and
/// publishing all run on the engine's `BlockingPool`, never on a cooperative thread.
final class PooledWriteSession: @unchecked Sendable {  // one task owns it and awaits each `run` before the next, so the session is never used by two threads at once
    private let session: WriteSession
    private let pool: BlockingPool

    private init(session: WriteSession, pool: BlockingPool) {
        self.session = session
        self.pool = pool
    }

    /// Opens a write session on `repository` from a pool thread.
    static func open(_ repository: Repository, on pool: BlockingPool) async throws -> PooledWriteSession {
        let box = try await pool.run { Opened(session: try WriteSession(repository)) }
        return PooledWriteSession(session: box.session, pool: pool)
    }

    /// Runs `body` with the session on a pool thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (WriteSession) throws -> T) async throws -> T {
        try await pool.run { try body(self.session) }
    }

    private struct Opened: @unchecked Sendable {  // carries the new session from the pool thread that opened it to its one owner
        let session: WriteSession
    }
}
