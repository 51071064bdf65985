import ArkCore
import Dispatch
import Synchronization

/// A bounded cache of verified chunks, shared by every open file. Loads run on a concurrent
/// queue (so verification uses every core), concurrent requests for the same chunk share one
/// load, and the least recently used chunks are evicted beyond `capacity` bytes.
final class ChunkCache: Sendable {
    typealias Completion = @Sendable (Result<[UInt8], Error>) -> Void

    private struct State {
        var entries: [ObjectID: (bytes: [UInt8], tick: UInt64)] = [:]
        var bytes = 0
        var tick: UInt64 = 0
        var waiting: [ObjectID: [Completion]] = [:]
        /// Access order, oldest first; an element whose tick no longer matches its entry is a
        /// stale record of an earlier access and is skipped. Eviction is amortized O(1).
        var order: [(id: ObjectID, tick: UInt64)] = []
        var orderHead = 0

        mutating func touch(_ id: ObjectID) -> UInt64 {
            tick += 1
            order.append((id, tick))
            return tick
        }

        /// Drops stale access records once they outnumber live entries.
        mutating func compactOrder() {
            if orderHead > 4096 && orderHead > order.count / 2 {
                order.removeFirst(orderHead)
                orderHead = 0
            }
            guard order.count - orderHead > 4 * max(entries.count, 64) else { return }
            order = order[orderHead...].filter { entries[$0.id]?.tick == $0.tick }
            orderHead = 0
        }
    }

    let capacity: Int
    private let state = Mutex(State())
    private let source: ObjectSource
    private let queue = DispatchQueue(label: "ark.fs.chunks", qos: .userInitiated, attributes: .concurrent)
    /// Limits concurrent loads (enough to keep a fast disk busy with O_DIRECT reads), so a read-ahead burst cannot flood the queue.
    private let loads = DispatchSemaphore(value: 32)

    init(source: ObjectSource, capacity: Int) {
        self.source = source
        self.capacity = max(capacity, 4 << 20)
    }

    /// Calls `completion` (on a cache thread, or inline on a hit) with the verified chunk.
    func get(_ id: ObjectID, _ completion: @escaping Completion) {
        enum Action { case hit([UInt8]), wait, load }
        let action: Action = state.withLock { s in
            if let e = s.entries[id] {
                s.entries[id] = (e.bytes, s.touch(id))
                s.compactOrder()
                return .hit(e.bytes)
            }
            if s.waiting[id] != nil { s.waiting[id]!.append(completion); return .wait }
            s.waiting[id] = [completion]
            return .load
        }
        switch action {
        case .hit(let bytes): completion(.success(bytes))
        case .wait: break
        case .load:
            queue.async { [self] in
                loads.wait()
                let result = Result { try source.chunk(id) }
                loads.signal()
                let waiters: [Completion] = state.withLock { s in
                    if case .success(let bytes) = result { insert(&s, id, bytes) }
                    return s.waiting.removeValue(forKey: id) ?? []
                }
                for w in waiters { w(result) }
            }
        }
    }

    /// Calls `completion` with verified bytes of `range` of a chunk: from the cache when the
    /// chunk is there, else read (only the blocks covering the range) on a cache thread
    /// without caching them. For readers that are not streaming.
    func get(_ id: ObjectID, range: Range<Int>, _ completion: @escaping Completion) {
        if let bytes = state.withLock({ s -> [UInt8]? in
            guard let e = s.entries[id] else { return nil }
            s.entries[id] = (e.bytes, s.touch(id))
            return e.bytes
        }) {
            return completion(.success(Array(bytes[range.clamped(to: 0..<bytes.count)])))
        }
        queue.async { [self] in
            loads.wait()
            let result = Result { try source.chunk(id, range: range) }
            loads.signal()
            completion(result)
        }
    }

    /// Starts loading the chunks that are neither cached nor loading (read-ahead), in groups
    /// the source may read with one I/O each.
    func prefetch(_ ids: [ObjectID], groupSize: Int = 16) {
        let new: [ObjectID] = state.withLock { s in
            var out: [ObjectID] = []
            for id in ids where s.entries[id] == nil && s.waiting[id] == nil {
                s.waiting[id] = []
                out.append(id)
            }
            return out
        }
        for start in stride(from: 0, to: new.count, by: groupSize) {
            let group = Array(new[start..<min(start + groupSize, new.count)])
            queue.async { [self] in
                loads.wait()
                let results = source.chunks(group)
                loads.signal()
                for (i, id) in group.enumerated() {
                    // A chunk the batch did not deliver is loaded on its own (and fetched from a
                    // peer by a source that can), in parallel with the others.
                    guard i < results.count, case .success(let bytes) = results[i] else {
                        queue.async { [self] in
                            loads.wait()
                            let result = Result { try source.chunk(id) }
                            loads.signal()
                            resolve(id, result)
                        }
                        continue
                    }
                    resolve(id, .success(bytes))
                }
            }
        }
    }

    private func resolve(_ id: ObjectID, _ result: Result<[UInt8], Error>) {
        let waiters: [Completion] = state.withLock { s in
            if case .success(let bytes) = result { insert(&s, id, bytes) }
            return s.waiting.removeValue(forKey: id) ?? []
        }
        for w in waiters { w(result) }
    }

    func contains(_ id: ObjectID) -> Bool { state.withLock { $0.entries[id] != nil } }

    private func insert(_ s: inout State, _ id: ObjectID, _ bytes: [UInt8]) {
        if let old = s.entries[id] { s.bytes -= old.bytes.count }
        s.bytes += bytes.count
        s.entries[id] = (bytes, s.touch(id))
        while s.bytes > capacity, s.orderHead < s.order.count {
            let oldest = s.order[s.orderHead]
            s.orderHead += 1
            guard let e = s.entries[oldest.id], e.tick == oldest.tick else { continue }
            s.bytes -= e.bytes.count
            s.entries.removeValue(forKey: oldest.id)
        }
        s.compactOrder()
    }
}
