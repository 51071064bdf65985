import Dispatch
import Foundation
import GRDB
import Glibc
import Synchronization

/// How far `repairIndex` has got.
package struct RepairProgress: Sendable {
    package var packsDone = 0
    package var packsTotal = 0
    package var bytesDone: UInt64 = 0
    package var bytesTotal: UInt64 = 0
    package var objects = 0
}

/// What `repairIndex` found and restored.
package struct RepairReport: Sendable {
    /// Where the packs were read: the bucket's location or the local pack directory.
    package var source = ""
    package var packs = 0
    /// Packs without a record directory whose headers were scanned instead.
    package var packsScanned = 0
    /// Packs that end in bytes that are not a record (the torn tail of a local pack whose
    /// writer was killed, or damage); their records before those bytes were indexed.
    package var incompletePacks: [String] = []
    /// Objects newly recorded (objects the index already had keep their rows).
    package var objects = 0
    package var commits = 0
    /// Commits left out of the graph because a parent is in no pack (or is damaged).
    package var orphanCommits = 0
    /// Commit objects that do not verify or decode (`<short id>: <error>`).
    package var damagedCommits: [String] = []
    package var heads = 0
    /// Heads of the state record whose commit is in no pack.
    package var skippedHeads: [String] = []
    /// The state record restored (`StoreState.sequence`), nil when none was found.
    package var stateSequence: UInt64?
    /// Tip commits no restored head reaches (all of them without a state record) that became
    /// heads `recovered/<id>`.
    package var recoveredTips = 0
    /// Records of local packs the index did not know that do not verify (hash, decompression
    /// or delta base): recorded as known but not stored, never as present.
    package var damagedRecords: [String] = []
    /// Chunks reachable files name that no pack holds (a lazy repo's), recorded as known but
    /// not stored, as the pull that first saw them had recorded them.
    package var absentChunks = 0
}

extension Repository {
    /// Rebuilds the index from the packs, for a store whose index was lost or damaged: every
    /// record of every pack (the bucket's with `packStorage`, else the local pack files), the
    /// commit graph from the commit objects, then heads and sync sequence numbers from the
    /// newest state record (`StoreState`). Rows the index already has stay, so it is safe on
    /// an index that is only partly lost; the only rows it removes are stat cache rows naming
    /// a manifest that is not stored (`Index.statCache` relies on there being none). Holds the
    /// store lock exclusively (no writer runs meanwhile).
    package func repairIndex(onWait: () -> Void = {}, progress: (RepairProgress) -> Void = { _ in }) throws -> RepairReport {
        let lock = try StoreLock(store: path, mode: .exclusive, onWait: onWait)
        defer { withExtendedLifetime(lock) {} }
        // Stat cache rows name only stored manifests: an index that lost rows may name others.
        try index.write { try Index.dropStatCacheOfAbsentManifests($0) }
        var report = RepairReport()
        var state = RepairProgress()
        let packList = try listPacks()
        report.source = packStorage?.location ?? packDirectory
        state.packsTotal = packList.count
        state.bytesTotal = packList.reduce(0) { $0 + $1.size }
        progress(state)
        var commitIDs: [ObjectID] = []
        // Local records the index did not know: read back and verified before anything trusts them.
        var unverified: [ObjectID] = []
        // Packs' records are fetched up to 16 at a time (ranged reads wait on the bucket), then
        // recorded in order.
        for batch in stride(from: 0, to: packList.count, by: 64).map({ Array(packList[$0..<min($0 + 64, packList.count)]) }) {
            let listed = concurrently(batch) { try self.records(of: $0) }
            for (pack, result) in zip(batch, listed) {
                let (records, complete, scanned) = try result.get()
                if scanned { report.packsScanned += 1 }
                if !complete { report.incompletePacks.append(pack.name) }
                if !records.isEmpty {
                    report.objects += try index.write { db in
                        func count() throws -> Int {
                            try Int.fetchOne(
                                db, sql: "SELECT count(*) FROM objects WHERE pack = (SELECT id FROM packs WHERE name = ?)",
                                arguments: [pack.name]) ?? 0
                        }
                        let before = try count()
                        if packStorage == nil {
                            for r in records where try Index.object(db, r.id)?.isPresent != true { unverified.append(r.id) }
                        }
                        try Index.insert(db, records: records, remote: packStorage != nil)
                        return try count() - before
                    }
                }
                commitIDs += records.filter { $0.kind == .commit }.map(\.id)
                report.packs += 1
                state.packsDone += 1
                state.bytesDone += pack.size
                state.objects += records.count
                progress(state)
            }
        }
        report.damagedRecords = try markDamaged(unverified)
        let graph = try restoreCommits(commitIDs)
        report.commits = graph.inserted
        report.orphanCommits = graph.orphans
        report.damagedCommits = graph.damaged
        try restoreState(&report)
        report.absentChunks = try restoreAbsentChunks()
        return report
    }

    /// Reads and verifies the records of `ids` (hash, decompression, delta base); those that
    /// fail are made known but not stored. Returns them (`<short id>: <error>`).
    private func markDamaged(_ ids: [ObjectID]) throws -> [String] {
        var damaged: [(ObjectID, String)] = []
        for id in ids {
            guard let o = try index.object(id), let loc = o.location else { continue }
            do { _ = try readRecord(id, kind: o.kind, at: loc) } catch let e as ArkError where e.code == .corrupt || e.code == .missing {
                damaged.append((id, "\(id.short): \(e.message)"))
            }
        }
        guard !damaged.isEmpty else { return [] }
        try index.write { db in
            for (id, _) in damaged {
                try db.execute(sql: "UPDATE objects SET pack = NULL, offset = NULL, stored_len = NULL WHERE id = ?", arguments: [id])
            }
            // In the same transaction: no commit may take a cache hit on a manifest not stored.
            // (A pass over the whole stat cache, only when records did not verify.)
            try Index.dropStatCacheOfAbsentManifests(db)
        }
        return damaged.map(\.1)
    }

    /// `body` for every item, on the bucket pool when there is one (reads that wait on the
    /// bucket overlap), else in order on this thread; results in the items' order.
    func concurrently<T: Sendable, R: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) throws -> R) -> [Result<R, Error>] {
        guard let bucketPool, items.count > 1 else { return items.map { item in Result { try body(item) } } }
        let results = Mutex<[Result<R, Error>?]>(Array(repeating: nil, count: items.count))
        let group = DispatchGroup()
        for (i, item) in items.enumerated() {
            group.enter()
            bucketPool.submit {
                let r = Result { try body(item) }
                results.withLock { $0[i] = r }
                group.leave()
            }
        }
        group.wait()
        return results.withLock { $0 }.map { $0! }
    }

    struct PackListing {
        var name: String
        var size: UInt64
        var hasDirectory: Bool
    }

    private func listPacks() throws -> [PackListing] {
        if let storage = packStorage {
            let entries = try storage.list(prefix: BucketLayout.packPrefix)
            let keys = Set(entries.map(\.key))
            return entries.filter { $0.key.hasSuffix(".pack") }.map {
                let name = String($0.key.dropFirst(BucketLayout.packPrefix.count))
                return PackListing(name: name, size: $0.size, hasDirectory: keys.contains(BucketLayout.directoryKey(name)))
            }
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: packDirectory)) ?? []).sorted().compactMap { name in
            guard name.hasSuffix(".pack") else { return nil }
            var st = stat()
            guard lstat(packDirectory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return PackListing(name: name, size: UInt64(st.st_size), hasDirectory: false)
        }
    }

    /// The records of a pack: from its record directory when there is a valid one, else by
    /// scanning its headers.
    private func records(of pack: PackListing) throws -> (records: [PackWriter.Pending], complete: Bool, scanned: Bool) {
        if let storage = packStorage {
            if pack.hasDirectory, let bytes = try storage.get(key: BucketLayout.directoryKey(pack.name)),
                let records = PackDirectory.decode(bytes, name: pack.name, packSize: pack.size)
            {
                return (records, true, false)
            }
            let key = BucketLayout.packKey(pack.name)
            let scan = try PackScanner.scan(name: pack.name, size: pack.size) { offset, length in
                try storage.read(key: key, offset: offset, length: length)
            }
            return (scan.records, scan.complete, true)
        }
        let file = try FileDescriptor(open: packDirectory + "/" + pack.name, flags: O_RDONLY)
        let scan = try PackScanner.scan(name: pack.name, size: pack.size) { offset, length in
            var bytes = [UInt8](repeating: 0, count: length)
            try bytes.withUnsafeMutableBytes { try file.pread(into: $0, at: offset) }
            return bytes
        }
        return (scan.records, scan.complete, true)
    }

    /// Records the commits among `ids` (read and verified) in the commit graph, parents first.
    /// A commit whose parent is in no pack and not in the index is left out, with everything
    /// above it. Returns how many were inserted and left out, and the tips (commits no other
    /// commit names as parent).
    private func restoreCommits(_ ids: [ObjectID]) throws -> (
        inserted: Int, orphans: Int, tips: [(ObjectID, Commit)], damaged: [String]
    ) {
        var commits: [ObjectID: Commit] = [:]
        var damaged: [String] = []
        let wanted = try ids.filter { try !index.hasCommit($0) }
        for (id, result) in zip(wanted, concurrently(wanted) { try self.commit($0) }) {
            // A commit object that does not verify or decode stays out of the graph (and so
            // does everything above it); verify names it.
            do { commits[id] = try result.get() } catch let e as ArkError where e.code == .corrupt || e.code == .missing {
                damaged.append("\(id.short): \(e.message)")
            }
        }
        var done = Set<ObjectID>(), failed = Set<ObjectID>()
        var order: [(ObjectID, Commit)] = []
        for root in commits.keys.sorted() {
            var stack: [(ObjectID, Bool)] = [(root, false)]
            while let (c, expanded) = stack.popLast() {
                if done.contains(c) || failed.contains(c) { continue }
                guard let commit = commits[c] else {
                    if try index.hasCommit(c) { done.insert(c) } else { failed.insert(c) }
                    continue
                }
                if !expanded {
                    stack.append((c, true))
                    for p in commit.parents where !done.contains(p) && !failed.contains(p) { stack.append((p, false)) }
                    continue
                }
                if commit.parents.allSatisfy({ done.contains($0) }) {
                    done.insert(c)
                    order.append((c, commit))
                } else {
                    failed.insert(c)
                }
            }
        }
        try index.write { db in for (id, c) in order { try Index.insertCommit(db, id: id, c) } }
        let parents = Set(order.flatMap { $0.1.parents })
        let tips = order.filter { !parents.contains($0.0) }
        return (order.count, commits.count - order.count, tips, damaged)
    }

    /// Restores heads and sync sequence numbers from the newest state record, then makes each
    /// commit of the graph that no head reaches and no such commit names as parent (a tip the
    /// record did not name: its head was skipped, the record is older than the commit, or there
    /// is no record) a head `recovered/<id>` of its node, so nothing becomes unreachable (and
    /// collectable) by accident.
    private func restoreState(_ report: inout RepairReport) throws {
        let actor = identity.endpointID
        let now = Int64(Date().timeIntervalSince1970)
        if let state = try newestState() {
            let result = try index.write { db in try Index.restore(db, state, actor: actor, time: now) }
            report.heads = result.restored
            report.skippedHeads = result.skipped
            report.stateSequence = state.sequence
        }
        report.recoveredTips = try index.write { db in
            var n = 0
            for (id, node) in try Self.unreachedTips(db) {
                let ref = HeadRef(repo: "recovered", owner: node, name: id.hex)
                guard try Index.head(db, ref) == nil else { continue }
                try Index.setHead(db, ref, to: id, expected: nil, actor: actor, cause: "repair index: tip no head reaches", time: now)
                n += 1
            }
            return n
        }
        report.heads += report.recoveredTips
    }

    /// Commits of the index's graph that no head reaches and that no other such commit names
    /// as parent, with the node that made each.
    static func unreachedTips(_ db: Database) throws -> [(ObjectID, ObjectID)] {
        var parents: [ObjectID: [ObjectID]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT child, parent FROM commit_parents") {
            parents[row[0] as ObjectID, default: []].append(row[1])
        }
        var reached = Set<ObjectID>()
        var stack = try ObjectID.fetchAll(db, sql: "SELECT commit_id FROM heads")
        while let c = stack.popLast() {
            guard reached.insert(c).inserted else { continue }
            stack += parents[c] ?? []
        }
        let rest = try Row.fetchAll(db, sql: "SELECT id, node FROM commits").map { ($0[0] as ObjectID, $0[1] as ObjectID) }
            .filter { !reached.contains($0.0) }
        let named = Set(rest.flatMap { parents[$0.0] ?? [] })
        return rest.filter { !named.contains($0.0) }.sorted { $0.0 < $1.0 }
    }

    /// The newest `StoreState`: the highest `state/<sequence>` in the bucket, or `state.json`.
    func newestState() throws -> StoreState? {
        if let storage = packStorage {
            let keys = try storage.list(prefix: BucketLayout.statePrefix).compactMap { e in
                BucketLayout.stateSequence(e.key).map { ($0, e.key) }
            }
            guard let newest = keys.max(by: { $0.0 < $1.0 }), let bytes = try storage.get(key: newest.1) else { return nil }
            return try StoreState(decoding: bytes, what: "\(newest.1) in \(storage.location)")
        }
        let path = BucketLayout.localStatePath(store: self.path)
        guard let bytes = try FileDescriptor.readStoreFile(path, what: "state record") else { return nil }
        return try StoreState(decoding: bytes, what: path)
    }
}
