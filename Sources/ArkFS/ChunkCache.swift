import ArkCore
import Dispatch
import Synchronization

/// A bounded cache of verified chunks, shared by every open file. Loads run on the mount's
/// load pool (`BlockingPool`, 4 threads: verification uses every core while other loads wait
/// on the disk, and the pool's threads are the one limit on loads in flight), concurrent
/// requests for the same chunk share one load, and the least recently used chunks are
/// evicted beyond `capacity` bytes.
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
        /// Leading bytes of chunks read before any read asked for them (`readHead`).
        var heads: [ObjectID: Head] = [:]

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

    /// The leading bytes of a chunk, loading or loaded, and the reads waiting for them.
    private struct Head {
        let range: Range<Int>
        var bytes: [UInt8]?
        var waiters: [(range: Range<Int>, completion: Completion)] = []
    }

    static let maxHeads = 32

    /// `[mount] cache_size` unless set: with the read buffers, the load threads and the
    /// program itself, a mount streaming a large file stays under 64 MiB of RSS.
    static let defaultCapacity = 8 << 20

    let capacity: Int
    private let state = Mutex(State())
    private let source: ObjectSource
    private let queue: BlockingPool

    init(source: ObjectSource, capacity: Int, pool: BlockingPool) {
        self.source = source
        self.queue = pool
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
            queue.submit { [self] in
                let result = Result { try source.chunk(id) }
                let waiters: [Completion] = state.withLock { s in
                    if case .success(let bytes) = result { insert(&s, id, bytes) }
                    return s.waiting.removeValue(forKey: id) ?? []
                }
                for w in waiters { w(result) }
            }
        }
    }

    /// Calls `completion` with verified bytes of `range` of a chunk: from the cache when the
    /// chunk is there or loading whole, or from a head read ahead (`readHead`), else read (only the blocks
    /// covering the range) on a cache thread without caching them. For readers that are not
    /// streaming.
    func get(_ id: ObjectID, range: Range<Int>, _ completion: @escaping Completion) {
        enum Action { case done([UInt8]), wait, load }
        let action: Action = state.withLock { s in
            if let e = s.entries[id] {
                s.entries[id] = (e.bytes, s.touch(id))
                return .done(Array(e.bytes[range.clamped(to: 0..<e.bytes.count)]))
            }
            if s.waiting[id] != nil {
                // Loading whole already (read-ahead): share that read. Should it fail (a bad
                // block elsewhere in the chunk), read just this range, which may be intact.
                s.waiting[id]!.append { [self] result in
                    guard case .success(let bytes) = result else { return get(id, range: range, completion) }
                    completion(.success(Array(bytes[range.clamped(to: 0..<bytes.count)])))
                }
                return .wait
            }
            guard let h = s.heads[id], h.range.covers(range) else { return .load }
            guard let bytes = h.bytes else {
                s.heads[id]!.waiters.append((range, completion))
                return .wait
            }
            return .done(Array(bytes[range.offset(by: -h.range.lowerBound)]))
        }
        switch action {
        case .done(let bytes): completion(.success(bytes))
        case .wait: break
        case .load:
            queue.submit { [self] in
                completion(Result { try source.chunk(id, range: range) })
            }
        }
    }

    /// Reads, on the calling thread, `range` of a chunk that no read has asked for yet: the
    /// first block of a file, while the kernel is still sending the lookup, open and read
    /// that will want it. A `get(_:range:)` inside `range` meanwhile waits for these bytes,
    /// and later ones get them; a failed read is left to those reads to repeat and report.
    /// At most `maxHeads` are kept.
    func readHead(_ id: ObjectID, range: Range<Int>) {
        let start: Bool = state.withLock { s in
            guard s.entries[id] == nil, s.waiting[id] == nil, s.heads[id] == nil else { return false }
            if s.heads.count >= Self.maxHeads { s.heads = s.heads.filter { $0.value.bytes == nil } }
            guard s.heads.count < Self.maxHeads else { return false }
            s.heads[id] = Head(range: range)
            return true
        }
        guard start else { return }
        let result = Result { try source.chunk(id, range: range) }
        let bytes: [UInt8]? = if case .success(let b) = result, b.count == range.count { b } else { nil }
        let waiters = state.withLock { s in
            let w = s.heads[id]?.waiters ?? []
            if let bytes { s.heads[id] = Head(range: range, bytes: bytes) } else { s.heads[id] = nil }
            return w
        }
        for w in waiters {
            if let bytes {
                w.completion(.success(Array(bytes[w.range.offset(by: -range.lowerBound)])))
            } else {
                get(id, range: w.range, w.completion)
            }
        }
    }

    /// Loads a chunk whole into the cache on the calling thread, unless it is cached or
    /// loading; reads that want it meanwhile wait for this load.
    func load(_ id: ObjectID) {
        let start: Bool = state.withLock { s in
            guard s.entries[id] == nil, s.waiting[id] == nil else { return false }
            s.waiting[id] = []
            return true
        }
        guard start else { return }
        resolve(id, Result { try source.chunk(id) })
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
            queue.submit { [self] in
                let results = source.chunks(group)
                for (i, id) in group.enumerated() {
                    // A chunk the batch did not deliver is loaded on its own (and fetched from a
                    // peer by a source that can), in parallel with the others; one whose storage
                    // did not answer (`.io`: the bucket is unreachable) fails its readers now
                    // rather than after another wait on the same server.
                    if i < results.count, case .failure(let e as ArkError) = results[i], e.code == .io {
                        resolve(id, .failure(e))
                        continue
                    }
                    guard i < results.count, case .success(let bytes) = results[i] else {
                        queue.submit { [self] in
                            resolve(id, Result { try source.chunk(id) })
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

extension Range<Int> {
    func covers(_ other: Range<Int>) -> Bool { lowerBound <= other.lowerBound && other.upperBound <= upperBound }
    func offset(by delta: Int) -> Range<Int> { (lowerBound + delta)..<(upperBound + delta) }
}
