/// Converting git trees and blobs: subtrees first, with an explicit stack.
extension GitImporter {
    /// A git tree being converted: its entries, how many are done, and the converted ones.
    private struct TreeFrame {
        var raw: [UInt8]
        var hex: String
        var name: FileName
        var entries: [GitTreeEntry]
        var next = 0
        var out: [Tree.Entry] = []
        /// The git id of each converted entry's object, by name (for the round-trip check).
        var gitIDs: [FileName: [UInt8]] = [:]
        /// The mode git wrote for each entry, by name.
        var modes: [FileName: String] = [:]
        var height = 0
    }

    /// Converts a commit's root tree, subtrees first, with an explicit stack (a hostile tree
    /// can nest directories tens of thousands deep). A tree nesting directories more than
    /// `ObjectLimits.maxTreeDepth` levels deep is refused, naming the commit and the path.
    func convertTree(_ rootRaw: [UInt8], commit: String) throws -> (ObjectID, UInt64) {
        if let m = try mapped(rootRaw) { return m }
        let limit = ObjectLimits.maxTreeDepth
        /// `below`: levels under `last` (a subtree converted before, reused here).
        func tooDeep(_ stack: [TreeFrame], _ last: FileName, below: Int = 0) -> ArkError {
            let names = (stack.dropFirst().map(\.name) + [last]).map(\.bytes)
            let shown = names.count > 6 ? names.prefix(3) + [Array("…".utf8)] + names.suffix(2) : names[...]
            let path = EntryPath(bytes: shown.joined(separator: [0x2F]))
            return ArkError(
                .unsupported,
                "git commit \(commit): tree nests directories more than \(limit) levels deep (at \(path), \(names.count + below) levels)")
        }
        var stack = [try openTree(rootRaw, name: "")]
        var result: (ObjectID, UInt64)?
        while let top = stack.indices.last {
            if stack[top].next < stack[top].entries.count {
                let e = stack[top].entries[stack[top].next]
                stack[top].next += 1
                stack[top].gitIDs[e.name] = e.id
                stack[top].modes[e.name] = e.mode
                switch e.kind {
                case .file, .executable:
                    let (manifest, size) = try convertBlob(e.id)
                    stack[top].out.append(.file(e.name, manifest: manifest, size: size, executable: e.kind == .executable))
                case .symlink:
                    // Any bytes but NUL, kept exactly (a target that is not UTF-8 in tree format v2).
                    let target = try cat.object(HexCodec.encode(e.id), type: "blob")
                    guard !target.isEmpty, !target.contains(0), target.count <= ObjectLimits.maxSymlinkTarget else {
                        throw ArkError(
                            .unsupported,
                            "git tree \(stack[top].hex): symlink '\(e.name)' has an empty target, a NUL byte or more than \(ObjectLimits.maxSymlinkTarget) bytes"
                        )
                    }
                    stack[top].out.append(.symlink(e.name, bytes: target))
                case .directory:
                    if let (tree, size) = try mapped(e.id) {
                        let h = try height(ofConverted: tree)
                        guard stack.count + h <= limit else { throw tooDeep(stack, e.name, below: h) }
                        stack[top].height = max(stack[top].height, h + 1)
                        stack[top].out.append(.directory(e.name, tree: tree, size: size))
                    } else {
                        guard stack.count < limit + 1 else { throw tooDeep(stack, e.name) }
                        stack.append(try openTree(e.id, name: e.name))
                    }
                case .gitlink:
                    stack[top].out.append(.submodule(e.name, commit: HexCodec.encode(e.id)))
                }
                continue
            }
            var done = stack.removeLast()
            // The mode exactly as git wrote it, when it is not the one git writes today.
            for i in done.out.indices {
                if let mode = done.modes[done.out[i].name], mode != Tree.canonicalGitMode(done.out[i].kind) { done.out[i].gitMode = mode }
            }
            let tree: Tree
            do { tree = try Tree(entries: done.out) } catch let e as ArkError {
                throw ArkError(e.code, "git tree \(done.hex): \(e.message)")
            }
            if verifies {
                // Subtrees and blobs were checked as they were converted; their ids stand in.
                let form = tree.gitForm { e in
                    e.kind == .symlink ? GitSHA1.objectID(.blob, Tree.symlinkBlob(e)) : done.gitIDs[e.name] ?? []
                }
                guard GitSHA1.objectID(.tree, form) == done.raw else {
                    throw ArkError(
                        .unsupported,
                        "git commit \(commit): git tree \(done.hex) would not round-trip (entries out of git's order or duplicated?)")
                }
            }
            let id = try session.put(.tree, tree.encoded())
            if verifies { pendingGitIDs.append((id, done.raw)) }
            stats.treesConverted += 1
            remember(done.raw, id, tree.totalSize, new: true)
            unpublishedHeights[id] = done.height
            TreeHeights.shared.put(id, done.height)
            if let parent = stack.indices.last {
                stack[parent].height = max(stack[parent].height, done.height + 1)
                stack[parent].out.append(.directory(done.name, tree: id, size: tree.totalSize))
            } else {
                result = (id, tree.totalSize)
            }
        }
        return result!
    }

    private func openTree(_ raw: [UInt8], name: FileName) throws -> TreeFrame {
        let hex = HexCodec.encode(raw)
        let entries = try GitTreeEntry.parse(try cat.object(hex, type: "tree"), hashLength: hashLength, id: hex)
        return TreeFrame(raw: raw, hex: hex, name: name, entries: entries)
    }

    /// Height of a tree converted earlier: this run's are remembered, earlier runs' are read.
    private func height(ofConverted tree: ObjectID) throws -> Int {
        if let h = unpublishedHeights[tree] ?? TreeHeights.shared.get(tree) { return h }
        return try session.repo.treeHeight(tree, limit: .max)
    }

    private func convertBlob(_ raw: [UInt8]) throws -> (ObjectID, UInt64) {
        if let m = try mapped(raw) { return m }
        let hex = HexCodec.encode(raw)
        let (type, size) = try cat.request(hex)
        guard type == "blob" else { throw ArkError(.malformed, "git object \(hex) is a \(type), expected a blob") }
        var remaining = size
        let cat = self.cat!
        var sha = GitSHA1()
        sha.update(GitSHA1.header(.blob, size: UInt64(size)))
        let (manifest, stored) = try session.putFile(
            source: { buf in
                guard remaining > 0 else { return 0 }
                let n = try cat.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[..<min(buf.count, remaining)]))
                sha.update(UnsafeRawBufferPointer(rebasing: buf[..<n]))
                remaining -= n
                return n
            }, name: "git blob \(hex)", size: size)
        try cat.endContent()
        guard stored == UInt64(size) else { throw ArkError(.io, "git blob \(hex): read \(stored) of \(size) bytes") }
        if verifies {
            guard sha.finish() == raw else { throw ArkError(.io, "git blob \(hex): content read does not hash to its id") }
            pendingGitIDs.append((manifest, raw))
        }
        stats.blobsConverted += 1
        remember(raw, manifest, stored, new: true)
        return (manifest, stored)
    }
}
