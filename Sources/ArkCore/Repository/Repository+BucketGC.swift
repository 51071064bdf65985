/// gc's work in the bucket (`PackStorage`). It runs with the store lock held exclusively, so
/// no writer of this store is between uploading a pack and publishing it: a pack the index
/// does not know is garbage (left by a writer killed after its upload), never a pack about
/// to be published.
extension Repository {
    /// How many state records gc keeps (the newest; older ones are superseded).
    static let keptStateRecords = 8

    /// Refuses to collect against an index that is behind the bucket: one that was lost and
    /// recreated empty knows none of the packs, and gc would take them all for garbage. A
    /// state record of this very index one step ahead (put, then the transaction did not
    /// commit) is written again from the index first: gc is about to delete the packs it
    /// names, so it must not stay the newest.
    func checkIndexIsCurrent() throws {
        guard let storage = packStorage else { return }
        let indexed = try index.stateIdentity()
        let ahead = try storage.list(prefix: BucketLayout.statePrefix).compactMap { BucketLayout.stateName($0.key) }.filter {
            $0.sequence > indexed.sequence || ($0.sequence == indexed.sequence && $0.index != indexed.index)
        }
        guard let first = ahead.first else { return }
        if ahead.allSatisfy({ $0.index == indexed.index && $0.sequence == indexed.sequence + 1 }) {
            try index.rewriteState()
            return
        }
        throw ArkError(
            .invalidArgument,
            "the index is behind the bucket (state record \(first.sequence) of another index, this one is at \(indexed.sequence)); run 'ark repair index' before gc, nothing was deleted",
            context: storage.location)
    }

    /// Deletes packs (and record directories) in the bucket that the index does not name, and
    /// state records older than the newest `keptStateRecords`.
    func collectBucket(_ report: inout GCReport) throws {
        guard let storage = packStorage else { return }
        let known = Set(try index.packs().map(\.name))
        for entry in try storage.list(prefix: BucketLayout.packPrefix) {
            let name = String(entry.key.dropFirst(BucketLayout.packPrefix.count))
            let pack: String
            if name.hasSuffix(".pack") {
                pack = name
            } else if name.hasSuffix(".dir") {
                pack = String(name.dropLast(4)) + ".pack"
            } else {
                continue
            }
            guard !known.contains(pack) else { continue }
            try storage.delete(key: entry.key)
            report.bucketObjectsDeleted += 1
            if name.hasSuffix(".pack") {
                report.packsDeleted += 1
                report.bytesFreed += entry.size
            }
        }
        let states = try storage.list(prefix: BucketLayout.statePrefix).filter { BucketLayout.stateSequence($0.key) != nil }
            .sorted { BucketLayout.stateSequence($0.key)! < BucketLayout.stateSequence($1.key)! }
        for entry in states.dropLast(Self.keptStateRecords) {
            try storage.delete(key: entry.key)
            report.bucketObjectsDeleted += 1
        }
    }
}
