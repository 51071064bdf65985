import Dispatch
import Synchronization

/// Reading chunks through their block tags (`BlockTagger`): a range of a chunk costs the
/// blocks that cover it, each checked by its tag, instead of reading and hashing the whole
/// chunk. Chunks without tags, and any tag mismatch, take the full path: the whole chunk is
/// hashed to its id, which either serves verified bytes or reports the chunk corrupt.
extension Repository {
    /// Verified bytes of `range` of chunk `id` (the whole chunk when nil).
    package func readChunk(_ id: ObjectID, range: Range<Int>? = nil) throws -> [UInt8] {
        try readChunk(id, range: range, retried: false)
    }

    private func readChunk(_ id: ObjectID, range: Range<Int>?, retried: Bool) throws -> [UInt8] {
        guard let (obj, tags) = try index.objectForRead(id) else {
            throw ArkError(.notFound, "chunk \(id) is not in the store")
        }
        guard obj.kind == .chunk else { throw ArkError(.invalidArgument, "\(id) is a \(obj.kind), not a chunk") }
        guard let loc = obj.location else { throw ArkError(.missing, "chunk \(id) is not stored locally") }
        let whole = 0..<obj.rawLength
        let r = range.map { $0.clamped(to: whole) } ?? whole
        var mismatched = false
        // A single-block chunk's tags (rows older stores kept) are not used: it is read whole.
        if let tags, BlockTagger.tagsKept(length: obj.rawLength), tags.count == BlockTagger.blockCount(obj.rawLength) * BlockTagger.tagSize
        {
            switch readTagged(id, at: loc, tags: tags, range: r) {
            case .bytes(let bytes): return bytes
            case .mismatch:
                // Maybe a descriptor of a pack gc replaced since it was opened: drop the
                // pack's descriptors and look the chunk up again, once.
                dropDescriptors(loc.pack)
                if !retried { return try readChunk(id, range: range, retried: true) }
                mismatched = true
            case .unavailable: break
            }
        }
        // A mismatch is either a damaged block (then this throws, naming the chunk) or a
        // damaged tag (then the chunk hashes to its id and is served).
        let bytes = try read(id, kind: .chunk)
        // Tags that match the bytes read now were not the damage: the copy read first was (a
        // local copy of a bucket pack, which `readRecord` replaced by the bucket's).
        if mismatched, let tags, blockTagger.tags(for: id, bytes) == tags { return r == whole ? bytes : Array(bytes[r]) }
        if mismatched {
            logger.warning("chunk \(id) is intact but its block tags in the index are not; it is re-tagged")
        }
        // Hashed to its id just now: tag it (stored before the current tag format, or damaged tags).
        if mismatched || tags?.count != BlockTagger.blockCount(obj.rawLength) * BlockTagger.tagSize {
            backfillTags(id, bytes)
        }
        return r == whole ? bytes : Array(bytes[r])
    }

    /// The leading records of large manifest `id` (those within its first `bytes` bytes), each
    /// block checked by its tag; nil when the manifest is small or compressed, or a tag does
    /// not match (the caller then loads it whole with `manifest(_:)`, which hashes it and
    /// reports damage). A large raw manifest without tags is read whole, hashed and tagged.
    package func manifestPrefix(_ id: ObjectID, bytes: Int = BlockTagger.blockSize) throws -> ManifestPrefix? {
        guard let (obj, tags) = try index.objectForRead(id), obj.kind == .manifest, let loc = obj.location,
            obj.rawLength > bytes
        else { return nil }
        guard let tags else {
            // A large raw manifest stored without tags (before the current tag format): it is
            // loaded whole here anyway, so hash it, tag it, and answer from its bytes.
            guard loc.compression == .none, obj.rawLength > BlockTagger.blockSize else { return nil }
            let whole = try read(id, kind: .manifest)
            backfillTags(id, whole)
            return try ManifestPrefix(decoding: Array(whole[0..<bytes]), encodedLength: obj.rawLength)
        }
        guard tags.count == BlockTagger.blockCount(obj.rawLength) * BlockTagger.tagSize,
            case .bytes(let head) = readTagged(id, at: loc, tags: tags, range: 0..<bytes)
        else { return nil }
        return try ManifestPrefix(decoding: head, encodedLength: obj.rawLength)
    }

    private enum TaggedRead { case bytes([UInt8]), mismatch, unavailable }

    /// The tag-checked bytes of `range`; `.unavailable` when the pack could not be read as
    /// indexed (the full path looks the object up again).
    private func readTagged(_ id: ObjectID, at loc: ObjectLocation, tags: [UInt8], range: Range<Int>) -> TaggedRead {
        guard !range.isEmpty else { return .bytes([]) }
        let bs = BlockTagger.blockSize
        let firstBlock = range.lowerBound / bs
        let lo = firstBlock * bs
        let hi = min((range.upperBound + bs - 1) / bs * bs, loc.rawLength)
        let key = blockTagger.chunkKey(id)
        let bytes: [UInt8]
        switch loc.compression {
        case .none:
            // O_DIRECT where the filesystem has it: check the tags in the aligned buffer, then
            // copy out just the range.
            let want = (range.lowerBound - lo)..<(range.upperBound - lo)
            let direct = directReads.read(
                pack: loc.pack, name: { try index.packName(loc.pack) },
                offset: loc.offset + UInt64(lo), count: hi - lo,
                cached: try? packs.file(loc.pack, name: { try index.packName(loc.pack) })
            ) { buf -> [UInt8]? in
                guard blockTagger.verify(buf, firstBlock: firstBlock, chunkLength: loc.rawLength, tags: tags, key: key) else { return nil }
                return Array(UnsafeRawBufferPointer(rebasing: buf[want]))
            }
            switch direct {
            case .some(.some(let b)): return .bytes(b)
            case .some(.none):
                directReads.drop(loc.pack)
                return .mismatch
            case .none: break
            }
            guard let file = try? packs.file(loc.pack, name: { try index.packName(loc.pack) }) else { return .unavailable }
            var ok = true
            bytes = [UInt8](unsafeUninitializedCapacity: hi - lo) { buf, n in
                do { try file.pread(into: UnsafeMutableRawBufferPointer(buf), at: loc.offset + UInt64(lo)); n = buf.count } catch {
                    ok = false; n = 0
                }
            }
            guard ok else { return .unavailable }
        case .zstd:
            guard let file = try? packs.file(loc.pack, name: { try index.packName(loc.pack) }) else { return .unavailable }
            var ok = true
            let stored = [UInt8](unsafeUninitializedCapacity: loc.storedLength) { buf, n in
                do { try file.pread(into: UnsafeMutableRawBufferPointer(buf), at: loc.offset); n = buf.count } catch { ok = false; n = 0 }
            }
            guard ok else { return .unavailable }
            guard let raw = try? stored.withUnsafeBytes({ try Zstd.decompress($0, rawLength: loc.rawLength) }) else { return .mismatch }
            bytes = lo == 0 && hi == raw.count ? raw : Array(raw[lo..<hi])
        case .zstdDelta:
            return .unavailable
        }
        guard bytes.withUnsafeBytes({ blockTagger.verify($0, firstBlock: firstBlock, chunkLength: loc.rawLength, tags: tags, key: key) })
        else { return .mismatch }
        if range.lowerBound == lo && range.upperBound == hi { return .bytes(bytes) }
        return .bytes(Array(bytes[(range.lowerBound - lo)..<(range.upperBound - lo)]))
    }
}

extension Repository {
    /// Adjacent chunks are read with one I/O up to this many bytes.
    package static let maxCoalescedRead = 4 << 20

    /// Runs of records read with one I/O, as index ranges of `locs` (sorted by pack and
    /// offset): same pack, each record right after the previous one (its 48-byte header, or a
    /// little more, between them), within `maxCoalescedRead`.
    static func coalescedRuns(_ locs: [ObjectLocation]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var start = 0
        while start < locs.count {
            var end = start + 1
            let first = locs[start]
            while end < locs.count {
                let prevEnd = locs[end - 1].offset + UInt64(locs[end - 1].storedLength), next = locs[end]
                guard next.pack == first.pack, next.offset >= prevEnd, next.offset - prevEnd <= 4096,
                    next.offset + UInt64(next.storedLength) - first.offset <= UInt64(maxCoalescedRead)
                else { break }
                end += 1
            }
            runs.append(start..<end)
            start = end
        }
        return runs
    }

    /// Verified bytes of many chunks (a streaming reader's read-ahead). Tagged raw chunks that
    /// lie next to each other in a pack are read with one O_DIRECT read and checked block by
    /// block; anything else, and any failure, goes through `readChunk` one by one.
    package func readChunks(_ ids: [ObjectID]) -> [Result<[UInt8], Error>] {
        var out = [Result<[UInt8], Error>?](repeating: nil, count: ids.count)
        // `tags` nil: a chunk of one block, checked by hashing it to its id.
        struct Item { var index: Int; var id: ObjectID; var loc: ObjectLocation; var tags: [UInt8]? }
        var items: [Item] = []
        if let rows = try? index.objectsForRead(ids) {
            for (i, row) in rows.enumerated() {
                guard let row, row.object.kind == .chunk, let loc = row.object.location, loc.compression == .none,
                    loc.storedLength == loc.rawLength
                else { continue }
                let kept = BlockTagger.tagsKept(length: loc.rawLength)
                let tags = row.tags.flatMap { kept && $0.count == BlockTagger.blockCount(loc.rawLength) * BlockTagger.tagSize ? $0 : nil }
                guard tags != nil || !kept else { continue }
                items.append(Item(index: i, id: ids[i], loc: loc, tags: tags))
            }
        }
        items.sort { ($0.loc.pack, $0.loc.offset) < ($1.loc.pack, $1.loc.offset) }
        for range in Self.coalescedRuns(items.map(\.loc)) {
            let run = items[range]
            let first = run.first!.loc
            let last = run.last!.loc
            let span = Int(last.offset + UInt64(last.storedLength) - first.offset)
            _ = directReads.read(
                pack: first.pack, name: { try index.packName(first.pack) }, offset: first.offset, count: span,
                cached: try? packs.file(first.pack, name: { try index.packName(first.pack) })
            ) { buf in
                for item in run {
                    let lo = Int(item.loc.offset - first.offset)
                    let bytes = UnsafeRawBufferPointer(rebasing: buf[lo..<lo + item.loc.rawLength])
                    let intact =
                        if let tags = item.tags {
                            blockTagger.verify(
                                bytes, firstBlock: 0, chunkLength: item.loc.rawLength, tags: tags, key: blockTagger.chunkKey(item.id))
                        } else {
                            ObjectHasher.hash(.chunk, bytes) == item.id
                        }
                    if intact {
                        out[item.index] = .success(Array(bytes))
                    } else {
                        directReads.drop(first.pack)
                    }
                }
            }
        }
        var rest = ids.indices.filter { out[$0] == nil }
        if packStorage != nil, rest.count > 1 {
            // Runs of adjacent records in the bucket: one ranged read per run.
            for (i, r) in readBucketRuns(ids, positions: rest) { out[i] = r }
            rest = rest.filter { out[$0] == nil }
        }
        if packStorage != nil, rest.count > 1 {
            // Chunks in the bucket: one ranged read each, all in flight at once.
            let fetched = Mutex<[Int: Result<[UInt8], Error>]>([:])
            let group = DispatchGroup()
            for i in rest {
                group.enter()
                runRead {
                    let r = Result { try self.readChunk(ids[i]) }
                    fetched.withLock { $0[i] = r }
                    group.leave()
                }
            }
            group.wait()
            for (i, r) in fetched.withLock({ $0 }) { out[i] = r }
        } else {
            for i in rest { out[i] = Result { try readChunk(ids[i]) } }
        }
        return out.map { $0! }
    }
}
