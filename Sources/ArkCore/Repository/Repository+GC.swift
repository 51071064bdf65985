import Foundation
import GRDB
import Glibc

package struct GCReport: Sendable {
    package var reachableObjects = 0
    package var removedObjects = 0
    package var removedCommits = 0
    package var packsRewritten = 0
    package var packsDeleted = 0
    package var bytesFreed: UInt64 = 0
    /// Objects deleted from the bucket (`PackStorage`): packs, their record directories and
    /// superseded state records.
    package var bucketObjectsDeleted = 0
    /// Live objects whose stored bytes did not verify. Their packs were kept (the damaged
    /// bytes are the only copy here); everything else in those packs was still moved.
    package var damaged: [GCDamage] = []
}

/// A live object gc could not copy because its bytes do not verify.
package struct GCDamage: Sendable {
    package var id: ObjectID
    package var kind: ObjectKind
    package var pack: String
    package var error: ArkError
}

extension Repository {
    /// Removes every object and commit no head reaches. Holds the store lock exclusively, so
    /// no writer is mid-commit; packs with dead objects are rewritten (live records read once,
    /// verified, and exactly those bytes copied, fsynced, then the index is switched, then the
    /// old pack is deleted). A pack holding a live object that does not verify is never
    /// deleted: its intact live objects are moved, the damaged one stays where it is and is
    /// reported in `GCReport.damaged`.
    package func gc(onWait: () -> Void = {}) throws -> GCReport {
        let lock = try StoreLock(store: path, mode: .exclusive, onWait: onWait)
        defer { withExtendedLifetime(lock) {} }
        var report = GCReport()
        try checkIndexIsCurrent()
        let live = try reachable()
        try addDeltaBases(to: live)
        report.reachableObjects = live.count

        // Pack by pack: the objects of one pack at a time, never the whole index.
        let packs = try index.packs()
        let packNames = Dictionary(uniqueKeysWithValues: packs.map { ($0.id, $0.name) })
        let writer = PackWriter(directory: packDirectory, sealsOnSync: packStorage != nil, targetSize: packTargetSize)
        var oldPacks: [Int64] = []
        var deadBytes: UInt64 = 0
        for (pack, _) in packs {
            // First pass: is anything in this pack dead? Second: copy what lives.
            var dead = false
            try index.forEachObjectPage(inPack: pack) { page in
                if !dead { dead = try live.filterContained(page.map(\.id)).count < page.count }
            }
            if !dead { continue }
            var intact = true
            try index.forEachObjectPage(inPack: pack) { objects in
                let liveIDs = Set(try live.filterContained(objects.map(\.id)))
                for o in objects {
                    let loc = o.location!
                    guard liveIDs.contains(o.id) else {
                        deadBytes += UInt64(loc.storedLength)
                        continue
                    }
                    let record: (raw: [UInt8], stored: [UInt8])
                    do { record = try readRecord(o.id, kind: o.kind, at: loc) } catch let e as ArkError
                        where e.code == .corrupt || e.code == .missing
                    {
                        report.damaged.append(GCDamage(id: o.id, kind: o.kind, pack: packNames[pack] ?? "pack \(pack)", error: e))
                        intact = false
                        continue
                    }
                    let compressed: [UInt8]? = loc.compression == .none ? nil : record.stored
                    try record.raw.withUnsafeBytes {
                        try writer.append(id: o.id, kind: o.kind, raw: $0, compressed: compressed, delta: loc.compression == .zstdDelta)
                    }
                }
            }
            if intact {
                report.bytesFreed += deadBytes
                oldPacks.append(pack)
            }
            deadBytes = 0
        }
        let (moved, movedPacks) = try writer.syncPacks()
        // Rewritten packs are in the bucket before the index points at them.
        try upload(movedPacks, records: moved)
        try index.write { db in
            // Point moved objects at their new pack (their rows are replaced), then drop what
            // is dead. Damaged objects keep their rows, in the packs kept for them.
            let unset = try db.cachedStatement(sql: "UPDATE objects SET pack = NULL WHERE id = ?")
            for r in moved { try unset.execute(arguments: [r.id]) }
            try Index.insert(db, records: moved, remote: packStorage != nil)
            let del = try db.cachedStatement(sql: "DELETE FROM objects WHERE id = ?")
            report.removedObjects = try Self.forEachDead(db, table: "objects", live: live) { id in
                try del.execute(arguments: [id])
                try Index.deleteTags(db, id)
            }
            report.removedCommits = try Self.forEachDead(db, table: "commits", live: live) { c in
                try db.execute(sql: "DELETE FROM commit_parents WHERE child = ?", arguments: [c])
                try db.execute(sql: "DELETE FROM commits WHERE id = ?", arguments: [c])
            }
            try Index.dropStatCacheOfAbsentManifests(db)
            for p in oldPacks {
                // Never delete a pack the index still points into.
                guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM objects WHERE pack = ?)", arguments: [p]) == false else {
                    throw ArkError(
                        .io, "gc: pack \(packNames[p] ?? "\(p)") still holds indexed objects after the rewrite; nothing was deleted")
                }
                try db.execute(sql: "DELETE FROM packs WHERE id = ?", arguments: [p])
            }
        }
        report.packsRewritten = oldPacks.count
        // The index no longer points into the old packs: now they may go, here and in the bucket.
        for p in oldPacks {
            guard let n = packNames[p] else { continue }
            unlink(packDirectory + "/" + n)
            dropDescriptors(p)
            if let storage = packStorage {
                try storage.delete(key: BucketLayout.packKey(n))
                try storage.delete(key: BucketLayout.directoryKey(n))
                report.bucketObjectsDeleted += 2
            }
        }
        cacheUploaded(movedPacks)
        // Pack files the index does not know: left by a writer that was killed before
        // publishing. No writer runs now (exclusive lock), so they are garbage.
        let known = Set(try index.packs().map(\.name))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: packDirectory)) ?? [] where !known.contains(name) {
            var st = stat()
            if stat(packDirectory + "/" + name, &st) == 0 { report.bytesFreed += UInt64(st.st_size) }
            unlink(packDirectory + "/" + name)
            report.packsDeleted += 1
        }
        try FileDescriptor.syncDirectory(packDirectory)
        if packStorage != nil { try collectBucket(&report) }
        return report
    }

    /// Calls `body` for every id of `table` (objects or commits) that `live` lacks, a page of
    /// ids at a time in id order (the rows of a page are deleted before the next is read, so
    /// the scan goes on after the last id seen). Returns how many there were.
    static func forEachDead(_ db: Database, table: String, live: ObjectIDSet, _ body: (ObjectID) throws -> Void) throws -> Int {
        let page = try db.makeStatement(sql: "SELECT id FROM \(table) WHERE id > ? ORDER BY id LIMIT 8192")
        var after = ObjectID(bytes: [UInt8](repeating: 0, count: ObjectID.byteCount))
        var first = try ObjectID.fetchAll(db, sql: "SELECT id FROM \(table) ORDER BY id LIMIT 8192")
        var removed = 0
        while !first.isEmpty {
            let keep = Set(try live.filterContained(first))
            for id in first where !keep.contains(id) {
                try body(id)
                removed += 1
            }
            after = first[first.count - 1]
            first = try ObjectID.fetchAll(page, arguments: [after])
        }
        return removed
    }

    /// Adds to `live` the delta bases its delta objects need, transitively: a base stays as
    /// long as something stored against it does, even when no head reaches it any more. The
    /// base id is read from the local pack or the bucket, never from the record cache: a cached
    /// copy is not verified until it is decoded, and a wrong base id here would let gc delete
    /// the real base.
    func addDeltaBases(to live: ObjectIDSet) throws {
        let deltas = try index.deltaObjects()
        var frontier: [IndexedObject] = []
        for start in stride(from: 0, to: deltas.count, by: 4096) {
            let part = deltas[start..<min(start + 4096, deltas.count)]
            let isLive = Set(try live.filterContained(part.map(\.id)))
            frontier += part.filter { isLive.contains($0.id) }
        }
        while !frontier.isEmpty {
            var next: [IndexedObject] = []
            for o in frontier {
                let stored = try storedRecord(o.id, kind: o.kind, at: o.location!, skipCache: true).bytes
                guard stored.count > ObjectID.byteCount else { throw ArkError(.corrupt, "\(o.kind) \(o.id) has a truncated delta record") }
                let base = ObjectID(bytes: stored[0..<ObjectID.byteCount])
                guard try live.insert(base) else { continue }
                if let b = try index.object(base), b.location?.compression == .zstdDelta { next.append(b) }
            }
            frontier = next
        }
    }

    /// Ids of every commit, tree, manifest and chunk reachable from any head, in an
    /// `ObjectIDSet` (memory stays bounded: it spills to a temporary file). Reads only metadata
    /// objects (verified); refuses to continue if one is missing or corrupt, since deleting on
    /// an incomplete mark would lose data. Manifests are read in batches as trees reveal them,
    /// so no list of every file is ever held.
    func reachable() throws -> ObjectIDSet {
        let live = ObjectIDSet()
        var commits = try index.heads().map(\.commit)
        var trees: [ObjectID] = []
        var manifests: [ObjectID] = []
        func drainManifests(below limit: Int) throws {
            while manifests.count > limit {
                let batch = manifests
                manifests = []
                for m in try live.insertNew(batch) {
                    let man = try manifest(m)
                    let children = (0..<man.count).map { man.id(at: $0) }
                    if man.level > 0 { manifests += children } else { try live.insertNew(children) }
                }
            }
        }
        do {
            while let c = commits.popLast() {
                guard try live.insert(c) else { continue }
                let commit = try self.commit(c)
                trees.append(commit.tree)
                commits.append(contentsOf: commit.parents)
            }
            while let t = trees.popLast() {
                guard try live.insert(t) else { continue }
                for e in try tree(t).entries {
                    switch e.kind {
                    case .directory: trees.append(e.id!)
                    case .file, .executable: manifests.append(e.id!)
                    default: break
                    }
                }
                try drainManifests(below: 4096)
            }
            try drainManifests(below: 0)
        } catch let e as ArkError {
            throw ArkError(e.code, "gc stopped before deleting anything: \(e.message)", context: e.context)
        }
        return live
    }
}

extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
