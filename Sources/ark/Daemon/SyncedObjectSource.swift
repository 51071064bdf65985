import ArkCore
import ArkFS
import ArkSync
import Dispatch
import Synchronization

/// The mount's view of the store while the daemon runs in the same process: local objects
/// first; a chunk that is not stored here is fetched from peers (verified, stored, then
/// served), with the fetcher's deadline so a read never hangs.
struct SyncedObjectSource: ObjectSource {
    let local: LocalObjectSource
    let fetcher: ChunkFetcher
    let tracker: ConnectionTracker

    func chunk(_ id: ObjectID) throws -> [UInt8] {
        do { return try local.chunk(id) } catch let e as ArkError where e.code == .missing || e.code == .notFound {
            let result = Mutex<Result<[UInt8], Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            Task {
                let r: Result<[UInt8], Error>
                // Right after start the dialers may still be connecting: wait for a peer, within
                // the same deadline a fetch has.
                await tracker.waitForAnyConnection(timeout: fetcher.deadline)
                do { r = .success(try await fetcher.fetch(id, preferring: nil)) } catch { r = .failure(error) }
                result.withLock { $0 = r }
                done.signal()
            }
            done.wait()
            switch result.withLock({ $0! }) {
            case .success(let bytes): return bytes
            case .failure(let error): throw ArkError(.missing, "chunk \(id) is not stored here and no peer delivered it: \(error)")
            }
        }
    }

    func tree(_ id: ObjectID) throws -> Tree { try local.tree(id) }
    func manifest(_ id: ObjectID) throws -> Manifest { try local.manifest(id) }
    func isPresent(_ id: ObjectID) throws -> Bool { try local.isPresent(id) }
    func commitSummary(_ id: ObjectID) throws -> CommitSummary? { try local.commitSummary(id) }
    func heads(repo: String?) throws -> [Head] { try local.heads(repo: repo) }
    func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] { try local.history(from: heads, limit: limit) }
    func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID] { try local.commits(withPrefix: prefix, limit: limit) }
    func commits(changeID: String) throws -> [ObjectID] { try local.commits(changeID: changeID) }
    var localNode: ObjectID { local.localNode }
    func peerName(_ node: ObjectID) -> String? { local.peerName(node) }
}
