import Dispatch
import Foundation
import Synchronization

/// A fixed set of threads for loads that block: disk reads, and waits for a peer. Work handed
/// to a global dispatch queue runs on as many threads as there are cores, so two loads
/// waiting on the disk left both cores idle while verified bytes waited to be copied (a
/// cold sequential read through a mount on 2 cores: 18% of samples idle, 2 load threads).
/// Here up to `threadCount` loads wait at once while the cores keep working. One pool serves
/// the whole process; its threads live as long as it does.
final class LoadPool: Sendable {
    static let shared = LoadPool(threadCount: 4, name: "ark-load")

    private struct Jobs {
        var items: [@Sendable () -> Void] = []
        var head = 0
    }

    private let jobs = Mutex(Jobs())
    private let ready = DispatchSemaphore(value: 0)

    init(threadCount: Int, name: String) {
        for i in 0..<threadCount {
            let t = Thread { [self] in run() }
            t.name = "\(name)-\(i)"
            t.start()
        }
    }

    /// Runs `job` on a pool thread, in submission order as threads free up.
    func async(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.items.append(job) }
        ready.signal()
    }

    private func run() {
        while true {
            ready.wait()
            let job: (@Sendable () -> Void)? = jobs.withLock { j in
                guard j.head < j.items.count else { return nil }
                let job = j.items[j.head]
                j.head += 1
                if j.head >= 64 && j.head * 2 >= j.items.count {
                    j.items.removeFirst(j.head)
                    j.head = 0
                }
                return job
            }
            job?()
        }
    }
}
