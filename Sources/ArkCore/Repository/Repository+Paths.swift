/// An entry found by path in a commit's tree; the root is a directory entry named "".
extension Repository {
    public func lookup(tree root: ObjectID, path: String) throws -> Tree.Entry {
        var entry = Tree.Entry(name: "", kind: .directory, id: root, size: 0, target: nil)
        var walked: [String] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) where component != "." {
            guard entry.kind == .directory, let id = entry.id else {
                throw ArkError(.notFound, "'\(walked.joined(separator: "/"))' is not a directory")
            }
            guard let next = try tree(id).entry(named: String(component)) else {
                walked.append(String(component))
                throw ArkError(.notFound, "no such path '\(walked.joined(separator: "/"))'")
            }
            walked.append(String(component))
            entry = next
        }
        if path.split(separator: "/").isEmpty, let id = entry.id { entry.size = try tree(id).totalSize }
        return entry
    }
}
