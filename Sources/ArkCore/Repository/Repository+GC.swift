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
        if packStorage != nil { try checkIndexIsCurrent() }
        let live = try withDeltaBases(try reachable())
        report.reachableObjects = live.count

        let all = try index.allPresentObjects()
        var byPack: [Int64: [IndexedObject]] = [:]
        for o in all { byPack[o.location!.pack, default: []].append(o) }
        let packNames = Dictionary(uniqueKeysWithValues: try index.packs().map { ($0.id, $0.name) })
        let writer = PackWriter(directory: packDirectory, sealsOnSync: packStorage != nil)
        var oldPacks: [Int64] = []
        for (pack, objects) in byPack.sorted(by: { $0.key < $1.key }) {
            let dead = objects.filter { !live.contains($0.id) }
            if dead.isEmpty { continue }
            var intact = true
            for o in objects where live.contains(o.id) {
                let loc = o.location!
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
            if intact {
                report.bytesFreed += dead.reduce(0) { $0 + UInt64($1.location!.storedLength) }
                oldPacks.append(pack)
            }
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
            let dead = try ObjectID.fetchAll(db, sql: "SELECT id FROM objects")
                .filter { !live.contains($0) }
            let del = try db.cachedStatement(sql: "DELETE FROM objects WHERE id = ?")
            for id in dead { try del.execute(arguments: [id]); try Index.deleteTags(db, id) }
            report.removedObjects = dead.count
            let deadCommits = try ObjectID.fetchAll(db, sql: "SELECT id FROM commits").filter { !live.contains($0) }
            for c in deadCommits {
                try db.execute(sql: "DELETE FROM commit_parents WHERE child = ?", arguments: [c])
                try db.execute(sql: "DELETE FROM commits WHERE id = ?", arguments: [c])
            }
            report.removedCommits = deadCommits.count
            try db.execute(sql: "DELETE FROM stat_cache WHERE manifest NOT IN (SELECT id FROM objects WHERE pack IS NOT NULL)")
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

    /// `live` plus the delta bases its delta objects need, transitively: a base stays as long
    /// as something stored against it does, even when no head reaches it any more.
    func withDeltaBases(_ live: Set<ObjectID>) throws -> Set<ObjectID> {
        var out = live
        var frontier = try index.deltaObjects().filter { live.contains($0.id) }
        while !frontier.isEmpty {
            var next: [IndexedObject] = []
            for o in frontier {
                let stored = try storedRecord(o.id, kind: o.kind, at: o.location!).bytes
                guard stored.count > ObjectID.byteCount else { throw ArkError(.corrupt, "\(o.kind) \(o.id) has a truncated delta record") }
                let base = ObjectID(bytes: stored[0..<ObjectID.byteCount])
                guard out.insert(base).inserted else { continue }
                if let b = try index.object(base), b.location?.compression == .zstdDelta { next.append(b) }
            }
            frontier = next
        }
        return out
    }

    /// Ids of every commit, tree, manifest and chunk reachable from any head. Reads only
    /// metadata objects (verified); refuses to continue if one is missing or corrupt, since
    /// deleting on an incomplete mark would lose data.
    func reachable() throws -> Set<ObjectID> {
        var live = Set<ObjectID>()
        var commits = try index.heads().map(\.commit)
        var trees: [ObjectID] = []
        var manifests: [ObjectID] = []
        do {
            while let c = commits.popLast() {
                guard live.insert(c).inserted else { continue }
                let commit = try self.commit(c)
                trees.append(commit.tree)
                commits.append(contentsOf: commit.parents)
            }
            while let t = trees.popLast() {
                guard live.insert(t).inserted else { continue }
                for e in try tree(t).entries {
                    switch e.kind {
                    case .directory: trees.append(e.id!)
                    case .file, .executable: manifests.append(e.id!)
                    default: break
                    }
                }
            }
            while let m = manifests.popLast() {
                guard live.insert(m).inserted else { continue }
                let man = try manifest(m)
                for i in 0..<man.count {
                    if man.level > 0 { manifests.append(man.id(at: i)) } else { live.insert(man.id(at: i)) }
                }
            }
        } catch let e as ArkError {
            throw ArkError(e.code, "gc stopped before deleting anything: \(e.message)", context: e.context)
        }
        return live
    }
}

extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
