import Foundation
import Synchronization
import Testing

@testable import ArkCore

/// Announcement bookkeeping in the index: own sequence numbers are allocated atomically, even by
/// two processes on one store, and can be learned back from peers; head names per writer are capped.
@Suite struct SyncSequenceTests {
    func id(_ n: Int) -> ObjectID { ObjectID(bytes: (0..<32).map { UInt8(truncatingIfNeeded: n &* 7 &+ $0) }) }

    @Test func twoIndexesOnOneStoreNeverHandOutTheSameNumber() throws {
        let store = try TestStore()
        // A second connection pool on the same file, as a second process (`ark mount` beside `ark run`) has.
        let first = store.repo.index, other = try Index(path: first.path)
        let writer = store.repo.identity.endpointID
        let seqs = Mutex<[UInt64]>([])
        DispatchQueue.concurrentPerform(iterations: 100) { i in
            let index = i % 2 == 0 ? first : other
            let a = try? index.nextOwnAnnouncement(repo: "r", name: "", head: id(i), writer: writer) { seq, _ in Array("\(seq)".utf8) }
            if let a { seqs.withLock { $0.append(a.seq) } }
        }
        let all = seqs.withLock { $0 }.sorted()
        #expect(all == Array(1...100))
        // The same head again: nothing new to announce.
        let last = try #require(try other.ownAnnouncement(repo: "r", name: ""))
        #expect(try first.nextOwnAnnouncement(repo: "r", name: "", head: #require(last.head), writer: writer) { _, _ in [] } == nil)
    }

    @Test func learnedNumbersRaiseTheNextOne() throws {
        let store = try TestStore()
        let index = store.repo.index, writer = store.repo.identity.endpointID
        func own(_ seq: UInt64, _ head: ObjectID) -> StoredAnnouncement {
            StoredAnnouncement(repo: "r", writer: writer, name: "", seq: seq, head: head, bytes: [UInt8(seq)])
        }
        #expect(try index.nextOwnAnnouncement(repo: "r", name: "", head: id(1), writer: writer) { _, _ in [1] }?.seq == 1)
        #expect(try index.learnOwn(own(7, id(2))))  // a peer saw 7: the index forgot it
        #expect(try !index.learnOwn(own(3, id(3))))  // below: ignored
        #expect(try !index.learnOwn(own(7, id(2))))  // the same: nothing to do
        #expect(try index.learnOwn(own(7, id(4))))  // 7 for another head: reused, go above
        #expect(try index.nextOwnAnnouncement(repo: "r", name: "", head: id(1), writer: writer) { _, _ in [] }?.seq == 8)
    }

    @Test func newHeadNamesOfAWriterStopAtTheLimit() throws {
        let store = try TestStore()
        let index = store.repo.index, writer = id(99)
        func seen(_ name: String, _ seq: UInt64) throws -> Index.SeenOutcome {
            try index.recordSeen(
                StoredAnnouncement(repo: "r", writer: writer, name: name, seq: seq, head: id(seq == 0 ? 0 : Int(seq)), bytes: []),
                time: 0, maxNamesPerWriter: 2)
        }
        #expect(try seen("a", 1) == .recorded)
        #expect(try seen("b", 1) == .recorded)
        #expect(try seen("c", 1) == .overLimit)
        #expect(try seen("a", 2) == .recorded)  // a known name still moves
        #expect(try seen("a", 2) == .stale)
    }
}
