import Foundation
import Synchronization
import Testing

@testable import ArkCore

@Suite struct BlockingPoolTests {
    @Test func runsJobsOnItsThreadsAndDrainsAtShutdown() {
        let pool = BlockingPool(threadCount: 2, name: "test-pool")
        pool.start()
        let done = Mutex(0)
        let onPool = Mutex(true)
        for _ in 0..<100 {
            pool.submit {
                usleep(100)
                if !pool.inPool { onPool.withLock { $0 = false } }
                done.withLock { $0 += 1 }
            }
        }
        #expect(pool.shutdown())
        #expect(done.withLock { $0 } == 100)
        #expect(onPool.withLock { $0 })
    }

    @Test func asyncCallersGetResultsAndErrors() async throws {
        let pool = BlockingPool(threadCount: 2, name: "test-pool")
        pool.start()
        defer { pool.shutdown() }
        #expect(try await pool.run { pool.inPool })
        #expect(!pool.inPool)
        await #expect(throws: ArkError.self) {
            try await pool.run { throw ArkError(.io, "failed") }
        }
    }

    @Test func aFullQueueOrAStoppedPoolRunsTheJobInline() {
        let pool = BlockingPool(threadCount: 1, name: "test-pool", queueLimit: 1)
        pool.start()
        let release = DispatchSemaphore(value: 0)
        pool.submit { release.wait() }  // occupies the thread
        usleep(20_000)
        pool.submit {}  // queued
        let inline = Mutex(false)
        pool.submit { inline.withLock { $0 = !pool.inPool } }  // queue full: runs here
        #expect(inline.withLock { $0 })
        release.signal()
        #expect(pool.shutdown())
        let after = Mutex(false)
        pool.submit { after.withLock { $0 = !pool.inPool } }
        #expect(after.withLock { $0 })
    }

    @Test func shutdownFromAPoolThreadJoinsTheOthers() {
        let pool = BlockingPool(threadCount: 3, name: "test-pool")
        pool.start()
        let finished = DispatchSemaphore(value: 0)
        let result = Mutex<Bool?>(nil)
        pool.submit {
            result.withLock { $0 = pool.shutdown() }
            finished.signal()
        }
        finished.wait()
        #expect(result.withLock { $0 } == true)
        #expect(pool.shutdown())
    }

    @Test func shutdownWithATimeoutReturnsWhileAJobStillRuns() {
        let pool = BlockingPool(threadCount: 1, name: "test-pool")
        pool.start()
        let release = DispatchSemaphore(value: 0)
        pool.submit { release.wait() }
        usleep(20_000)
        #expect(!pool.shutdown(timeout: 0.05))
        release.signal()
    }
}
