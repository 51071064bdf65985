/// The git form of a tree: `<mode> <name>\0<20-byte id>` per entry, in git's order.
extension Tree {
    /// The mode git gets for an entry: the one stored from git, else the canonical one.
    package static func gitMode(of e: Entry) -> String { e.gitMode ?? canonicalGitMode(e.kind) }

    /// Entries in git's order: by name bytes, a directory compared as if its name ended in '/'.
    /// Entries are stored in plain byte order, which is git's order unless a directory's name
    /// is a prefix of a sibling's followed by a byte below '/': checked first, sorted only then.
    package var gitOrdered: [Entry] {
        var inOrder = true
        for i in entries.indices.dropFirst() where !Self.gitPrecedes(entries[i - 1], entries[i]) {
            inOrder = false
            break
        }
        return inOrder ? entries : entries.sorted(by: Self.gitPrecedes)
    }

    /// git's tree order (`base_name_compare`), without building the '/'-suffixed keys.
    static func gitPrecedes(_ a: Entry, _ b: Entry) -> Bool {
        let aDir = a.kind == .directory, bDir = b.kind == .directory
        return a.name.bytes.withUnsafeBufferPointer { (x) -> Bool in
            b.name.bytes.withUnsafeBufferPointer { (y) -> Bool in
                let m = Swift.min(x.count, y.count)
                var i = 0
                while i < m {
                    if x[i] != y[i] { return x[i] < y[i] }
                    i += 1
                }
                // One name is a prefix of the other: compare the next byte of each, a
                // directory's being '/' where its name ends (a name that ends first sorts first).
                let c1: UInt8? = x.count > m ? x[m] : (aDir ? 0x2f : nil)
                let c2: UInt8? = y.count > m ? y[m] : (bDir ? 0x2f : nil)
                guard let p = c1 else { return c2 != nil }
                guard let q = c2 else { return false }
                return p < q
            }
        }
    }

    /// The bytes git hashes for this tree; `id` gives the git id of each entry's object.
    package func gitForm(id: (Entry) throws -> [UInt8]) rethrows -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 48)
        for e in gitOrdered {
            out.append(contentsOf: Self.gitMode(of: e).utf8)
            out.append(0x20)
            out.append(contentsOf: e.name.bytes)
            out.append(0)
            out.append(contentsOf: try id(e))
        }
        return out
    }

    /// The git blob a symlink entry stands for: its target's bytes.
    package static func symlinkBlob(_ e: Entry) -> [UInt8] { e.target ?? [] }
}
