import Dispatch
import Logging
import Synchronization

/// Block tags for objects read without them (stored before tags existed, before the tag
/// format changed, or whose tags did not match): once the whole object has been hashed to its
/// id, its tags are computed from the same verified bytes and recorded, so later partial reads
/// are checked by tags again. Rows are written in batches off the read path; a process that
/// exits first just leaves them for a later read.
final class TagBackfill: Sendable {
    private struct State { var items: [(ObjectID, [UInt8])] = []; var scheduled = false }
    private let state = Mutex(State())
    /// Pending rows beyond this are dropped (a later read offers them again).
    static let maxPending = 4096
    static let delay: DispatchTimeInterval = .milliseconds(50)

    func add(_ id: ObjectID, _ tags: [UInt8], index: Index, logger: Logger) {
        let schedule = state.withLock { s -> Bool in
            guard s.items.count < Self.maxPending else { return false }
            s.items.append((id, tags))
            defer { s.scheduled = true }
            return !s.scheduled
        }
        guard schedule else { return }
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + Self.delay) { [self] in
            flush(index: index, logger: logger)
        }
    }

    /// Records the pending rows now (one transaction).
    func flush(index: Index, logger: Logger) {
        let items = state.withLock { s in
            defer { s.items = []; s.scheduled = false }
            return s.items
        }
        guard !items.isEmpty else { return }
        do { try index.write { db in try Index.insertTagsOfPresent(db, items) } } catch {
            logger.warning("could not record block tags of \(items.count) objects: \(error)")
        }
    }
}

extension Repository {
    /// Offers `bytes`, verified against `id` just now, for tagging.
    func backfillTags(_ id: ObjectID, _ bytes: [UInt8]) {
        guard BlockTagger.tagsKept(length: bytes.count) else { return }
        tagBackfill.add(id, blockTagger.tags(for: id, bytes), index: index, logger: logger)
    }

    /// Writes pending backfilled tags now (tests; a process about to exit).
    package func flushTagBackfill() { tagBackfill.flush(index: index, logger: logger) }
}
