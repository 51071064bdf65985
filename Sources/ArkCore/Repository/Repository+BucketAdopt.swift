import Foundation
import GRDB
import Glibc

/// How far `adoptLocalPacks` has got.
package struct AdoptProgress: Sendable {
    package var packsDone = 0
    package var packsTotal = 0
    package var bytesDone: UInt64 = 0
    package var bytesTotal: UInt64 = 0
    /// Packs the bucket already held whole (uploaded by an earlier, interrupted run).
    package var packsPresent = 0
}

extension Repository {
    /// A store that kept its packs on the local disk and now has a bucket (`[store.s3]` added
    /// to an existing store): uploads every local pack the index points into and the bucket
    /// lacks, with its record directory, confirmed, then marks them as the bucket's (their
    /// local copies become evictable cache) and writes the bucket's state record (heads) in the
    /// same index transaction, so the bucket alone is enough to recover the store.
    ///
    /// Idempotent and resumable: a pack the bucket already holds at its full size is not sent
    /// again (a HEAD), packs are marked a batch at a time, and an interrupted run leaves the rest
    /// unmarked for the next one. Holds the store lock exclusively, as gc does: a writer
    /// started before the bucket was configured appends to its own pack for its whole session,
    /// so none may run while packs are measured, uploaded and marked (a pack marked at a size
    /// its writer then outgrew would lose the later records once its local copy is evicted).
    /// A pack whose indexed records end past the uploaded size is left local all the same.
    /// Returns what was done; a store without a bucket, or with nothing left to upload, costs
    /// one index query.
    @discardableResult
    package func adoptLocalPacks(progress: (AdoptProgress) -> Void = { _ in }) throws -> AdoptProgress {
        guard let storage = packStorage else { return AdoptProgress() }
        var state = AdoptProgress()
        guard !(try localOnlyPacks()).isEmpty else { return state }
        let lock = try StoreLock(store: path, mode: .exclusive)
        defer { withExtendedLifetime(lock) {} }
        let packs = try localOnlyPacks()
        var sizes: [String: UInt64] = [:]
        for name in packs {
            var st = stat()
            guard lstat(packDirectory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw ArkError(
                    .missing, "pack \(name) is in the index but not in \(packDirectory), so it cannot be uploaded to \(storage.location)",
                    context: "run 'ark repair index' or restore the file")
            }
            sizes[name] = UInt64(st.st_size)
        }
        state.packsTotal = packs.count
        state.bytesTotal = sizes.values.reduce(0, +)
        progress(state)
        var marked: [String] = []
        var markedBytes: Int64 = 0
        func mark(final: Bool) throws {
            guard !marked.isEmpty || final else { return }
            let names = marked
            try index.write { db in
                for name in names {
                    let end =
                        try Int64.fetchOne(
                            db,
                            sql: "SELECT MAX(o.offset + o.stored_len) FROM objects o JOIN packs p ON o.pack = p.id WHERE p.name = ?",
                            arguments: [name]) ?? 0
                    guard end <= Int64(sizes[name]!) else {
                        logger.warning("pack \(name) grew past the \(sizes[name]!) bytes uploaded; it stays local until the next run")
                        continue
                    }
                    try db.execute(sql: "UPDATE packs SET remote = 1 WHERE name = ?", arguments: [name])
                }
                // The state record (heads) is put in the bucket inside this transaction, before it commits.
                if final { try db.execute(sql: "UPDATE store_state SET dirty = 1 WHERE id = 0") }
            }
            marked.removeAll()
        }
        for name in packs {
            let size = sizes[name]!
            let file = packDirectory + "/" + name
            if try storage.size(key: BucketLayout.packKey(name)) == size {
                state.packsPresent += 1
            } else {
                try storage.upload(key: BucketLayout.packKey(name), fromFile: file, length: size)
            }
            let scan = try scanLocalPack(file, name: name, size: size)
            try storage.put(key: BucketLayout.directoryKey(name), bytes: PackDirectory.encode(scan, packSize: size))
            marked.append(name)
            markedBytes += Int64(size)
            state.packsDone += 1
            state.bytesDone += size
            progress(state)
            if marked.count >= 64 { try mark(final: false) }
        }
        try mark(final: true)
        logger.info("uploaded \(state.packsDone - state.packsPresent) local packs to \(storage.location)")
        recordCache.added(markedBytes, remote: remoteForCache)
        return state
    }

    /// Packs the index points into that are not the bucket's (written before it was
    /// configured). Packs holding only chunks fetched from peers on demand (`chunk_cache`) stay
    /// local: they are a cache of a peer's data, evicted as such, never uploaded.
    private func localOnlyPacks() throws -> [String] {
        try index.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM packs p WHERE remote = 0 AND EXISTS (
                        SELECT 1 FROM objects o WHERE o.pack = p.id AND NOT EXISTS (SELECT 1 FROM chunk_cache c WHERE c.id = o.id)
                    ) ORDER BY name
                    """)
        }
    }

    /// The records of a local pack, from its headers (as `repair index` reads a local pack).
    private func scanLocalPack(_ path: String, name: String, size: UInt64) throws -> [PackWriter.Pending] {
        let file = try FileDescriptor(open: path, flags: O_RDONLY)
        return try PackScanner.scan(name: name, size: size) { offset, length in
            var bytes = [UInt8](repeating: 0, count: length)
            try bytes.withUnsafeMutableBytes { try file.pread(into: $0, at: offset) }
            return bytes
        }.records
    }
}
