/// An entry found by path in a commit's tree; the root is a directory entry named "".
extension Repository {
    package func lookup(tree root: ObjectID, path: String) throws -> Tree.Entry {
        try lookup(tree: root, path: EntryPath(path))
    }

    package func lookup(tree root: ObjectID, path: EntryPath) throws -> Tree.Entry {
        var entry = Tree.Entry(name: "", kind: .directory, id: root, size: 0, target: nil)
        var walked = EntryPath()
        let components = path.components
        for component in components {
            guard entry.kind == .directory, let id = entry.id else {
                throw ArkError(.notFound, "'\(walked)' is not a directory")
            }
            walked = walked.isEmpty ? EntryPath(bytes: component.bytes) : walked + "/" + component
            guard let next = try tree(id).entry(named: component) else {
                throw ArkError(.notFound, "no such path '\(walked)'")
            }
            entry = next
        }
        if components.isEmpty, let id = entry.id { entry.size = try tree(id).totalSize }
        return entry
    }
}
