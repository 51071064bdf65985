import Dispatch
import Glibc
import Synchronization

extension Repository {
    /// Reads chunks whose packs are only in the bucket a run at a time: records that lie next
    /// to each other in one pack (a streaming read's chunks, as the commit wrote them) come
    /// with one ranged GET of up to `maxCoalescedRead` bytes instead of one GET each, and all
    /// runs are in flight at once. Every record is verified exactly as `readRecord` verifies
    /// it, and kept in the record cache. Returns results by position in `ids` for the chunks it
    /// read; the caller reads the others (single records, cached or local ones, and any record
    /// that failed to verify, so that error is reported by the usual path) one by one. A run
    /// the bucket did not answer (`.io`) fails its chunks at once.
    func readBucketRuns(_ ids: [ObjectID], positions: [Int]) -> [Int: Result<[UInt8], Error>] {
        guard let storage = packStorage, positions.count > 1, let rows = try? index.objects(positions.map { ids[$0] }) else { return [:] }
        struct Item { var position: Int; var id: ObjectID; var loc: ObjectLocation }
        var bucketPacks: [Int64: String?] = [:]  // pack -> its name if only the bucket holds it
        func onlyInBucket(_ pack: Int64) -> String? {
            if let known = bucketPacks[pack] { return known }
            var name: String?
            if let info = try? index.packInfo(pack), info.remote, access(packDirectory + "/" + info.name, F_OK) != 0 { name = info.name }
            bucketPacks[pack] = name
            return name
        }
        var items: [Item] = []
        for p in positions {
            guard let o = rows[ids[p]], o.kind == .chunk, let loc = o.location, loc.compression != .zstdDelta,
                onlyInBucket(loc.pack) != nil, access(recordCache.directory + "/" + ids[p].hex, F_OK) != 0
            else { continue }
            items.append(Item(position: p, id: ids[p], loc: loc))
        }
        items.sort { ($0.loc.pack, $0.loc.offset) < ($1.loc.pack, $1.loc.offset) }
        let runs = Self.coalescedRuns(items.map(\.loc)).filter { $0.count > 1 }.map { items[$0] }
        guard !runs.isEmpty else { return [:] }
        let results = Mutex<[Int: Result<[UInt8], Error>]>([:])
        let group = DispatchGroup()
        for run in runs {
            let first = run.first!.loc
            let key = BucketLayout.packKey(onlyInBucket(first.pack)!)
            // The run's records, each received into its own array, and the gaps between them
            // (the next record's header): even parts are records, odd ones gaps.
            var lengths: [Int] = []
            var end = first.offset
            for item in run {
                if !lengths.isEmpty { lengths.append(Int(item.loc.offset - end)) }
                lengths.append(item.loc.storedLength)
                end = item.loc.offset + UInt64(item.loc.storedLength)
            }
            let asked = lengths
            group.enter()
            runRead {
                defer { group.leave() }
                let parts: [[UInt8]]
                do { parts = try storage.read(key: key, offset: first.offset, lengths: asked) } catch let e as ArkError where e.code == .io
                {
                    let failed = ArkError(e.code, "chunk cannot be read from the bucket: \(e.message)", context: e.context)
                    results.withLock { r in for item in run { r[item.position] = .failure(failed) } }
                    return
                } catch { return }
                guard parts.count == asked.count, parts.last?.count == asked.last else { return }
                for (n, item) in run.enumerated() {
                    let stored = parts[2 * n]
                    guard
                        let raw = try? self.decodeRecord(
                            item.id, kind: .chunk, at: item.loc, stored: stored, source: .bucket(key), depth: 0)
                    else { continue }
                    self.cacheFetched(item.id, stored)
                    results.withLock { $0[item.position] = .success(raw) }
                }
            }
        }
        group.wait()
        return results.withLock { $0 }
    }
}
