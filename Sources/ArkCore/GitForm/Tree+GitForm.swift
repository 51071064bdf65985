/// The git form of a tree: `<mode> <name>\0<20-byte id>` per entry, in git's order.
extension Tree {
    /// The mode git gets for an entry: the one stored from git, else the canonical one.
    package static func gitMode(of e: Entry) -> String { e.gitMode ?? canonicalGitMode(e.kind) }

    /// Entries in git's order: by name bytes, a directory compared as if its name ended in '/'.
    package var gitOrdered: [Entry] {
        entries.sorted { a, b in
            Self.gitSortKey(a).lexicographicallyPrecedes(Self.gitSortKey(b))
        }
    }

    static func gitSortKey(_ e: Entry) -> [UInt8] { e.kind == .directory ? e.name.bytes + [0x2f] : e.name.bytes }

    /// The bytes git hashes for this tree; `id` gives the git id of each entry's object.
    package func gitForm(id: (Entry) throws -> [UInt8]) rethrows -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 48)
        for e in gitOrdered {
            out += Array(Self.gitMode(of: e).utf8)
            out.append(0x20)
            out += e.name.bytes
            out.append(0)
            out += try id(e)
        }
        return out
    }

    /// The git blob a symlink entry stands for: its target's bytes.
    package static func symlinkBlob(_ e: Entry) -> [UInt8] { e.target ?? [] }
}
