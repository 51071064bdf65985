/// Git forms of the successive versions of a directory, for `GitFetchPack.plan`: a version
/// usually differs from the one before in an entry id or two, so its form is the previous
/// version's bytes with those ids replaced, instead of one git-id lookup and three appends per
/// entry. A version is matched by its names' hash (`shape`), then checked entry by entry: the
/// same count, names, kinds, git modes and targets (so the same git order, which may differ
/// from the stored order); anything else is built whole. The last version of each shape is kept, within `limit` bytes.
package struct GitTreeForms {
    private struct Version {
        var entries: [Tree.Entry]
        var form: [UInt8]
        /// Where each entry's 20-byte id starts in `form`, by the entry's index in stored order.
        var idOffsets: [Int]
    }

    private var last: [Int: Version] = [:]
    private var bytes = 0
    package let limit: Int

    package init(limit: Int = 32 << 20) { self.limit = limit }

    /// The git form of `tree`, whose names hash to `shape`; `id` gives an entry's git id. Also
    /// the previous version's entries when it matched (same names in the same places), so the
    /// caller can skip the entries whose id did not change.
    package mutating func form(_ tree: Tree, shape: Int, id: (Tree.Entry) throws -> [UInt8]) throws -> (
        form: [UInt8], previous: [Tree.Entry]?
    ) {
        let entries = tree.entries
        // Same names and kinds (checked below) give the same git order, so the offsets hold.
        if let p = last[shape], p.entries.count == entries.count {
            var form = p.form
            var matched = true
            for i in entries.indices {
                let e = entries[i], q = p.entries[i]
                guard e.kind == q.kind, e.gitMode == q.gitMode, e.target == q.target, e.name == q.name else {
                    matched = false
                    break
                }
                if e.id != q.id {
                    let g = try id(e)
                    guard g.count == 20 else {
                        matched = false
                        break
                    }
                    form.withUnsafeMutableBufferPointer { f in
                        for k in 0..<20 { f[p.idOffsets[i] + k] = g[k] }
                    }
                }
            }
            if matched {
                remember(shape, Version(entries: entries, form: form, idOffsets: p.idOffsets))
                return (form, p.entries)
            }
        }
        let form = try tree.gitForm(id: id)
        if var offsets = Self.idOffsets(form, count: entries.count) {
            if !Self.inGitOrder(entries) {
                // The form is in git's order: map each entry (stored order) to its place there.
                let order = entries.indices.sorted { Tree.gitPrecedes(entries[$0], entries[$1]) }
                var byEntry = offsets
                for (k, i) in order.enumerated() { byEntry[i] = offsets[k] }
                offsets = byEntry
            }
            remember(shape, Version(entries: entries, form: form, idOffsets: offsets))
        }
        return (form, nil)
    }

    private mutating func remember(_ shape: Int, _ v: Version) {
        let replaced = last[shape]?.form.count ?? 0
        guard bytes - replaced + v.form.count <= limit else { return }
        bytes += v.form.count - replaced
        last[shape] = v
    }

    package static func inGitOrder(_ entries: [Tree.Entry]) -> Bool {
        for i in entries.indices.dropFirst() where !Tree.gitPrecedes(entries[i - 1], entries[i]) { return false }
        return true
    }

    /// Offsets of the 20-byte ids in a tree's git form (`<mode> <name>\0<id>` per entry).
    static func idOffsets(_ form: [UInt8], count: Int) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(count)
        var i = 0
        while i < form.count {
            guard let nul = form[i...].firstIndex(of: 0), nul + 21 <= form.count else { return nil }
            out.append(nul + 1)
            i = nul + 21
        }
        return out.count == count ? out : nil
    }
}
