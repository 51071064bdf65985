extension Tree {
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + entries.count * 64)
        ObjectHeader.write(.tree, into: &w)
        w.varint(UInt64(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue)
            w.string(e.name)
            switch e.kind {
            case .file, .executable, .directory:
                w.id(e.id!)
                w.varint(e.size)
            case .symlink, .submodule:
                w.string(e.target ?? "")
            }
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "tree")
        try ObjectHeader.read(.tree, from: &r)
        let n = try r.count(max: min(ObjectLimits.maxTreeEntries, r.remaining / 4), "entry count")
        var entries: [Entry] = []
        entries.reserveCapacity(n)
        for _ in 0..<n {
            let k = try r.u8()
            guard let kind = Kind(rawValue: k) else { throw r.fail("unknown entry kind \(k)") }
            let name = try r.string(max: ObjectLimits.maxNameBytes, "name")
            do { try Tree.validate(name: name) } catch let e as ArkError { throw r.fail(e.message) }
            if let last = entries.last, !Tree.nameLess(last.name, name) {
                throw r.fail("entries not in strictly ascending name order ('\(last.name)', '\(name)')")
            }
            switch kind {
            case .file, .executable, .directory:
                let id = try r.id()
                let size = try r.varint()
                entries.append(Entry(name: name, kind: kind, id: id, size: size, target: nil))
            case .symlink:
                let target = try r.string(max: ObjectLimits.maxSymlinkTarget, "symlink target")
                guard !target.isEmpty, !target.utf8.contains(0) else { throw r.fail("empty or NUL symlink target") }
                entries.append(.symlink(name, target: target))
            case .submodule:
                let target = try r.string(max: 64, "submodule commit")
                guard !target.isEmpty, HexCodec.isHex(target) else { throw r.fail("submodule commit is not hex") }
                entries.append(.submodule(name, commit: target))
            }
        }
        try r.expectEnd()
        self.init(validatedSorted: entries)
    }
}
