/// Reading chunks through their block tags (`BlockTagger`): a range of a chunk costs the
/// blocks that cover it, each checked by its tag, instead of reading and hashing the whole
/// chunk. Chunks without tags, and any tag mismatch, take the full path: the whole chunk is
/// hashed to its id, which either serves verified bytes or reports the chunk corrupt.
extension Repository {
    /// Verified bytes of `range` of chunk `id` (the whole chunk when nil).
    public func readChunk(_ id: ObjectID, range: Range<Int>? = nil) throws -> [UInt8] {
        guard let (obj, tags) = try index.objectForRead(id) else {
            throw ArkError(.notFound, "chunk \(id) is not in the store")
        }
        guard obj.kind == .chunk else { throw ArkError(.invalidArgument, "\(id) is a \(obj.kind), not a chunk") }
        guard let loc = obj.location else { throw ArkError(.missing, "chunk \(id) is not stored locally") }
        let whole = 0..<obj.rawLength
        let r = range.map { $0.clamped(to: whole) } ?? whole
        if let tags, tags.count == BlockTagger.blockCount(obj.rawLength) * BlockTagger.tagSize,
           let bytes = readTagged(id, at: loc, tags: tags, range: r) {
            return bytes
        }
        let bytes = try read(id, kind: .chunk)
        return r == whole ? bytes : Array(bytes[r])
    }

    /// The tag-checked bytes of `range`, or nil to take the full path (the pack could not be
    /// read as indexed, or a tag did not match).
    private func readTagged(_ id: ObjectID, at loc: ObjectLocation, tags: [UInt8], range: Range<Int>) -> [UInt8]? {
        guard !range.isEmpty else { return [] }
        let bs = BlockTagger.blockSize
        let firstBlock = range.lowerBound / bs
        let lo = firstBlock * bs
        let hi = min((range.upperBound + bs - 1) / bs * bs, loc.rawLength)
        guard let file = try? packs.file(loc.pack, name: { try index.packName(loc.pack) }) else { return nil }
        var blocks: [UInt8]
        switch loc.compression {
        case .none:
            var ok = true
            blocks = [UInt8](unsafeUninitializedCapacity: hi - lo) { buf, n in
                do { try file.pread(into: UnsafeMutableRawBufferPointer(buf), at: loc.offset + UInt64(lo)); n = buf.count } catch { ok = false; n = 0 }
            }
            guard ok else { return nil }
        case .zstd:
            var ok = true
            let stored = [UInt8](unsafeUninitializedCapacity: loc.storedLength) { buf, n in
                do { try file.pread(into: UnsafeMutableRawBufferPointer(buf), at: loc.offset); n = buf.count } catch { ok = false; n = 0 }
            }
            guard ok, let raw = try? stored.withUnsafeBytes({ try Zstd.decompress($0, rawLength: loc.rawLength) }) else { return nil }
            blocks = lo == 0 && hi == raw.count ? raw : Array(raw[lo..<hi])
        case .zstdDelta:
            return nil
        }
        let key = blockTagger.chunkKey(id)
        guard blocks.withUnsafeBytes({ blockTagger.verify($0, firstBlock: firstBlock, tags: tags, key: key) }) else {
            logger.warning("chunk \(id): a block does not match its tag (\(packDirectory) pack \(loc.pack) offset \(loc.offset)); hashing the whole chunk instead")
            return nil
        }
        if range.lowerBound == lo && range.upperBound == hi { return blocks }
        return Array(blocks[(range.lowerBound - lo)..<(range.upperBound - lo)])
    }
}
