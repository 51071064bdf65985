/// One difference between two trees.
package struct TreeChange: Sendable, Equatable {
    /// `permissions`: only the permission bits changed (a mode, or file against executable),
    /// the content is the same.
    package enum Status: String, Sendable { case added = "A", removed = "D", modified = "M", typeChanged = "T", permissions = "P" }
    package var status: Status
    package var path: EntryPath
    package var old: Tree.Entry?
    package var new: Tree.Entry?
}

extension Repository {
    /// Streams the changes from tree `a` to tree `b`. Subtrees with equal ids are skipped
    /// without being read. Added or removed directories are reported file by file (an empty
    /// directory as itself).
    /// A nil tree is the empty tree (the parent of a root commit).
    package func diff(_ a: ObjectID?, _ b: ObjectID?, emit: (TreeChange) throws -> Void) throws {
        if a == b { return }
        // An explicit stack, in the order a recursive walk would go: trees may nest without bound.
        var stack = [DiffFrame.pair(try entries(a), try entries(b), 0, 0, prefix: EntryPath())]
        while let top = stack.popLast() {
            switch top {
            case .pair(let ta, let tb, var i, var j, let prefix):
                guard i < ta.count || j < tb.count else { continue }
                let ea = i < ta.count ? ta[i] : nil, eb = j < tb.count ? tb[j] : nil
                var descend: DiffFrame?
                if let ea, eb == nil || ea.name < eb!.name {
                    descend = try whole(ea, prefix + ea.name, .removed, emit); i += 1
                } else if let eb, ea == nil || eb.name < ea!.name {
                    descend = try whole(eb, prefix + eb.name, .added, emit); j += 1
                } else {
                    let ea = ea!, eb = eb!
                    let path = prefix + ea.name
                    if ea.kind == .directory && eb.kind == .directory {
                        if ea.permissions != eb.permissions {
                            try emit(TreeChange(status: .permissions, path: path + "/", old: ea, new: eb))
                        }
                        if ea.id != eb.id { descend = .pair(try entries(ea.id), try entries(eb.id), 0, 0, prefix: path + "/") }
                    } else if ea.kind == .directory || eb.kind == .directory || Self.typeClass(ea.kind) != Self.typeClass(eb.kind) {
                        try emit(TreeChange(status: .typeChanged, path: path, old: ea, new: eb))
                    } else if ea.id == eb.id && ea.size == eb.size && ea.target == eb.target {
                        // Same content: a change of mode is reported, one of mtime alone is not.
                        if ea.permissions != eb.permissions {
                            try emit(TreeChange(status: .permissions, path: path, old: ea, new: eb))
                        }
                    } else if ea != eb {
                        try emit(TreeChange(status: .modified, path: path, old: ea, new: eb))
                    }
                    i += 1; j += 1
                }
                stack.append(.pair(ta, tb, i, j, prefix: prefix))
                if let descend { stack.append(descend) }
            case .whole(let entries, let next, let prefix, let status):
                guard next < entries.count else { continue }
                let e = entries[next]
                stack.append(.whole(entries, next + 1, prefix: prefix, status))
                if let descend = try whole(e, prefix + e.name, status, emit) { stack.append(descend) }
            }
        }
    }

    /// Where the diff walk is in one directory: both sides' entries and positions, or the
    /// entries of a directory added or removed as a whole.
    private enum DiffFrame {
        case pair([Tree.Entry], [Tree.Entry], Int, Int, prefix: EntryPath)
        case whole([Tree.Entry], Int, prefix: EntryPath, TreeChange.Status)
    }

    private func entries(_ id: ObjectID?) throws -> [Tree.Entry] { try id.map { try tree($0).entries } ?? [] }

    private static func typeClass(_ k: Tree.Kind) -> Int {
        switch k {
        case .file, .executable: 0
        case .symlink: 1
        case .directory: 2
        case .submodule: 3
        }
    }

    /// Emits a file (or empty directory) added or removed; for a directory with entries,
    /// returns the frame that walks them.
    private func whole(_ e: Tree.Entry, _ path: EntryPath, _ status: TreeChange.Status, _ emit: (TreeChange) throws -> Void) throws
        -> DiffFrame?
    {
        if e.kind == .directory, let id = e.id {
            let t = try tree(id)
            if t.entries.isEmpty {
                try emit(TreeChange(status: status, path: path + "/", old: status == .removed ? e : nil, new: status == .added ? e : nil))
                return nil
            }
            return .whole(t.entries, 0, prefix: path + "/", status)
        }
        try emit(TreeChange(status: status, path: path, old: status == .removed ? e : nil, new: status == .added ? e : nil))
        return nil
    }
}
