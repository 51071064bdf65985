extension Tree {
    /// v1: `u8 kind ‖ string name ‖ payload` per entry. v2 (a tree with a mode, an mtime or a
    /// name that is not UTF-8): `u8 kind ‖ bytes name ‖ u8 flags ‖ [varint mode] ‖
    /// [svarint seconds ‖ varint nanoseconds] ‖ [string git mode] ‖ payload`, flags bit 0 =
    /// mode, bit 1 = mtime, bit 2 = git mode (see `Entry.gitMode`).
    public func encoded() -> [UInt8] {
        let version = formatVersion
        var w = ByteWriter(capacity: 16 + entries.count * (version == 1 ? 64 : 80))
        ObjectHeader.write(.tree, version: version, into: &w)
        w.varint(UInt64(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue)
            w.data(e.name.bytes)
            if version == 2 {
                w.u8((e.mode != nil ? 1 : 0) | (e.mtime != nil ? 2 : 0) | (e.gitMode != nil ? 4 : 0))
                if let mode = e.mode { w.varint(UInt64(mode)) }
                if let t = e.mtime { w.svarint(t.seconds); w.varint(UInt64(t.nanoseconds)) }
                if let g = e.gitMode { w.string(g) }
            }
            switch e.kind {
            case .file, .executable, .directory:
                w.id(e.id!)
                w.varint(e.size)
            case .symlink, .submodule:
                w.data(e.target ?? [])
            }
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "tree")
        let version = try ObjectHeader.read(.tree, versions: 1...2, from: &r)
        let n = try r.count(max: min(ObjectLimits.maxTreeEntries, r.remaining / 4), "entry count")
        var entries: [Entry] = []
        entries.reserveCapacity(n)
        var needsV2 = false
        for _ in 0..<n {
            let k = try r.u8()
            guard let kind = Kind(rawValue: k) else { throw r.fail("unknown entry kind \(k)") }
            let name: FileName
            if version == 1 {
                name = FileName(try r.string(max: ObjectLimits.maxNameBytes, "name"))
            } else {
                name = FileName(bytes: try r.data(max: ObjectLimits.maxNameBytes, "name"))
            }
            if let problem = FileName.problem(with: name.bytes) { throw r.fail(problem) }
            if let last = entries.last, !(last.name < name) {
                throw r.fail("entries not in strictly ascending name order ('\(last.name)', '\(name)')")
            }
            var mode: UInt16?, mtime: Timestamp?, gitMode: String?
            if version == 2 {
                let flags = try r.u8()
                guard flags & ~7 == 0 else { throw r.fail("unknown entry flags \(flags)") }
                if flags & 1 != 0 {
                    let m = try r.varint()
                    guard m <= 0o7777 else { throw r.fail("mode \(String(m, radix: 8)) has more than 12 bits") }
                    mode = UInt16(m)
                }
                if flags & 2 != 0 {
                    let seconds = try r.svarint()
                    let ns = try r.varint()
                    guard ns < 1_000_000_000 else { throw r.fail("mtime nanoseconds \(ns) out of range") }
                    mtime = Timestamp(seconds: seconds, nanoseconds: UInt32(ns))
                }
                if flags & 4 != 0 { gitMode = try r.string(max: 7, "git mode") }
                if let problem = Tree.attributeProblem(kind: kind, mode: mode, mtime: mtime)
                    ?? Tree.gitModeProblem(kind: kind, gitMode: gitMode)
                {
                    throw r.fail(problem)
                }
            }
            var entry: Entry
            switch kind {
            case .file, .executable, .directory:
                let id = try r.id()
                let size = try r.varint()
                entry = Entry(name: name, kind: kind, id: id, size: size, target: nil)
            case .symlink:
                // v1 targets are UTF-8; v2 ones are bytes (a target that is not UTF-8 needs v2).
                let target =
                    version == 1
                    ? Array(try r.string(max: ObjectLimits.maxSymlinkTarget, "symlink target").utf8)
                    : Array(try r.data(max: ObjectLimits.maxSymlinkTarget, "symlink target"))
                guard !target.isEmpty, !target.contains(0) else { throw r.fail("empty or NUL symlink target") }
                entry = .symlink(name, bytes: target)
            case .submodule:
                let target = try r.string(max: 64, "submodule commit")
                guard !target.isEmpty, HexCodec.isHex(target) else { throw r.fail("submodule commit is not hex") }
                entry = .submodule(name, commit: target)
            }
            entry.mode = mode
            entry.mtime = mtime
            entry.gitMode = gitMode
            needsV2 = needsV2 || entry.needsV2
            entries.append(entry)
        }
        try r.expectEnd()
        // One encoding per tree: a tree v1 can write is never written as v2.
        if version == 2 && !needsV2 {
            throw r.fail("format version 2 for a tree without modes, mtimes, git modes or non-UTF-8 names or targets")
        }
        self.init(validatedSorted: entries)
    }
}
