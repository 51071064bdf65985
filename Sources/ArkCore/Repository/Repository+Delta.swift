import Synchronization

/// Reading objects stored as deltas (`PackFormat.Compression.zstdDelta`): the base is read
/// (and verified) first, then the frame is expanded with the base as zstd dictionary; the
/// caller verifies the result against the object's id as for every other object.
extension Repository {
    /// Longer chains than a writer makes (`TreeDeltaBases.maxDepth`) mean a corrupt store.
    static let maxDeltaChain = 64

    func undelta(_ id: ObjectID, kind: ObjectKind, stored: [UInt8], rawLength: Int, depth: Int, context: String) throws -> [UInt8] {
        guard stored.count > ObjectID.byteCount else {
            throw ArkError(.corrupt, "\(kind) \(id) is corrupt (delta record too short)", context: context)
        }
        guard depth < Self.maxDeltaChain else {
            throw ArkError(.corrupt, "\(kind) \(id) is corrupt (delta chain longer than \(Self.maxDeltaChain))", context: context)
        }
        let baseID = ObjectID(bytes: stored[0..<ObjectID.byteCount])
        let base = try deltaBase(baseID, kind: kind, depth: depth + 1, of: id)
        do {
            return try stored[ObjectID.byteCount...].withUnsafeBytes { frame in
                try base.withUnsafeBytes { try Zstd.decompress(frame, rawLength: rawLength, dictionary: $0) }
            }
        } catch let e as ArkError {
            throw ArkError(.corrupt, "\(kind) \(id) is corrupt (\(e.message))", context: context)
        }
    }

    private func deltaBase(_ base: ObjectID, kind: ObjectKind, depth: Int, of id: ObjectID) throws -> [UInt8] {
        if let bytes = deltaBases.get(base) { return bytes }
        guard let obj = try index.object(base), obj.kind == kind, let loc = obj.location else {
            throw ArkError(.corrupt, "\(kind) \(id) cannot be read: its delta base \(base) is not stored")
        }
        let bytes = try read(base, kind: kind, at: loc, depth: depth)
        deltaBases.put(base, bytes)
        return bytes
    }
}

/// A small FIFO cache of verified raw base bytes, shared by the threads reading a store.
final class DeltaBaseCache: Sendable {
    private struct State {
        var bytes: [ObjectID: [UInt8]] = [:]
        var order: [ObjectID] = []
    }
    private let state = Mutex(State())
    static let capacity = 256

    func get(_ id: ObjectID) -> [UInt8]? { state.withLock { $0.bytes[id] } }

    func put(_ id: ObjectID, _ bytes: [UInt8]) {
        state.withLock { s in
            guard s.bytes.updateValue(bytes, forKey: id) == nil else { return }
            s.order.append(id)
            if s.order.count > Self.capacity { s.bytes[s.order.removeFirst()] = nil }
        }
    }
}
