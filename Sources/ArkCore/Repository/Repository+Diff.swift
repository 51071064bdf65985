/// One difference between two trees.
public struct TreeChange: Sendable, Equatable {
    public enum Status: String, Sendable { case added = "A", removed = "D", modified = "M", typeChanged = "T" }
    public var status: Status
    public var path: String
    public var old: Tree.Entry?
    public var new: Tree.Entry?
}

extension Repository {
    /// Streams the changes from tree `a` to tree `b`. Subtrees with equal ids are skipped
    /// without being read. Added or removed directories are reported file by file (an empty
    /// directory as itself).
    /// A nil tree is the empty tree (the parent of a root commit).
    public func diff(_ a: ObjectID?, _ b: ObjectID?, emit: (TreeChange) throws -> Void) throws {
        try diffTrees(a, b, prefix: "", emit)
    }

    private func diffTrees(_ a: ObjectID?, _ b: ObjectID?, prefix: String, _ emit: (TreeChange) throws -> Void) throws {
        if a == b { return }
        let ta = try a.map { try tree($0).entries } ?? [], tb = try b.map { try tree($0).entries } ?? []
        var i = 0, j = 0
        while i < ta.count || j < tb.count {
            let ea = i < ta.count ? ta[i] : nil, eb = j < tb.count ? tb[j] : nil
            if let ea, eb == nil || Tree.nameLess(ea.name, eb!.name) {
                try whole(ea, prefix + ea.name, .removed, emit); i += 1
            } else if let eb, ea == nil || Tree.nameLess(eb.name, ea!.name) {
                try whole(eb, prefix + eb.name, .added, emit); j += 1
            } else {
                let ea = ea!, eb = eb!
                let path = prefix + ea.name
                if ea.kind == .directory && eb.kind == .directory {
                    try diffTrees(ea.id!, eb.id!, prefix: path + "/", emit)
                } else if ea.kind == .directory || eb.kind == .directory || Self.typeClass(ea.kind) != Self.typeClass(eb.kind) {
                    try emit(TreeChange(status: .typeChanged, path: path, old: ea, new: eb))
                } else if ea != eb {
                    try emit(TreeChange(status: .modified, path: path, old: ea, new: eb))
                }
                i += 1; j += 1
            }
        }
    }

    private static func typeClass(_ k: Tree.Kind) -> Int {
        switch k {
        case .file, .executable: 0
        case .symlink: 1
        case .directory: 2
        case .submodule: 3
        }
    }

    private func whole(_ e: Tree.Entry, _ path: String, _ status: TreeChange.Status, _ emit: (TreeChange) throws -> Void) throws {
        if e.kind == .directory, let id = e.id {
            let t = try tree(id)
            if t.entries.isEmpty {
                try emit(TreeChange(status: status, path: path + "/", old: status == .removed ? e : nil, new: status == .added ? e : nil))
            }
            for child in t.entries { try whole(child, path + "/" + child.name, status, emit) }
        } else {
            try emit(TreeChange(status: status, path: path, old: status == .removed ? e : nil, new: status == .added ? e : nil))
        }
    }
}
