import Foundation
import Glibc

extension Repository {
    /// Materializes an entry (tree, file or symlink) at `destination`, which must not exist.
    /// Files get mode 0644 (0755 if executable), directories 0755, and every mtime is `mtime`.
    /// Work happens in a temporary sibling that is renamed into place at the end, so a failure
    /// leaves nothing half-written.
    public func export(_ entry: Tree.Entry, to destination: String, mtime: Int64, progress: (UInt64) -> Void = { _ in }) throws {
        guard access(destination, F_OK) != 0 else { throw ArkError(.invalidArgument, "\(destination) already exists") }
        let parent = (destination as NSString).deletingLastPathComponent.ifEmpty(".")
        let tmp = parent + "/.ark-export-\(getpid())-" + (destination as NSString).lastPathComponent
        do {
            try materialize(entry, at: tmp, mtime: mtime, progress: progress)
            try syscall("rename \(tmp) to \(destination)") { rename(tmp, destination) }
        } catch {
            Self.removeTree(at: tmp)
            throw error
        }
    }

    /// Removes what a failed export left at `path`, best effort, relative to open directories
    /// as it was written (a path inside may be longer than `PATH_MAX`, which Foundation's
    /// removal cannot name).
    static func removeTree(at path: String) {
        guard unlink(path) != 0, errno == EISDIR || errno == EPERM else { return }
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        var names: [String] = []
        while true {
            // Delete the files here; descend into the first directory found, if any.
            var subdirectory: String?
            if let dir = fdopendir(dup(fd)) {
                while subdirectory == nil, let ent = readdir(dir) {
                    let name = withUnsafePointer(to: ent.pointee.d_name) { p in
                        p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name == "." || name == ".." { continue }
                    if unlinkat(fd, name, 0) != 0 { subdirectory = name }
                }
                closedir(dir)
            }
            if let name = subdirectory {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { close(fd); fd = child; names.append(name); continue }
                if unlinkat(fd, name, AT_REMOVEDIR) == 0 { continue }
                break // cannot go in nor remove it: give up
            }
            guard let name = names.popLast() else { break }
            let parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            close(fd)
            guard parent >= 0 else { return }
            fd = parent
            guard unlinkat(fd, name, AT_REMOVEDIR) == 0 else { break }
        }
        close(fd)
        rmdir(path)
    }

    /// Writes `root` at `path` with an explicit stack, relative to the open directory being
    /// filled (`mkdirat`, `openat`): a tree may nest deeper than a path can name (`PATH_MAX`).
    private func materialize(_ root: Tree.Entry, at path: String, mtime: Int64, progress: (UInt64) -> Void) throws {
        let times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        guard root.kind == .directory else {
            try materialize(leaf: root, in: AT_FDCWD, name: path, shown: path, times: times, progress: progress)
            return
        }
        try syscall("mkdir \(path)") { mkdir(path, 0o755) }
        var dir = try FileDescriptor(open: path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        struct Frame { var entries: [Tree.Entry]; var next = 0; var name: String }
        var stack = [Frame(entries: try tree(root.id!).entries, name: path)]
        func shown(_ name: String) -> String { (stack.map(\.name) + [name]).joined(separator: "/") }
        while let top = stack.indices.last {
            if stack[top].next < stack[top].entries.count {
                let e = stack[top].entries[stack[top].next]
                stack[top].next += 1
                guard e.kind == .directory else {
                    try materialize(leaf: e, in: dir.raw, name: e.name, shown: shown(e.name), times: times, progress: progress)
                    continue
                }
                try syscall("mkdir \(shown(e.name))") { mkdirat(dir.raw, e.name, 0o755) }
                let child = try syscall("open \(shown(e.name))") { openat(dir.raw, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                dir = FileDescriptor(owning: child, path: e.name)
                stack.append(Frame(entries: try tree(e.id!).entries, name: e.name))
                continue
            }
            try syscall("chmod \(shown(""))") { fchmod(dir.raw, 0o755) }
            _ = times.withUnsafeBufferPointer { futimens(dir.raw, $0.baseAddress) }
            stack.removeLast()
            if !stack.isEmpty {
                let parent = try syscall("open \(shown(".."))") { openat(dir.raw, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                dir = FileDescriptor(owning: parent, path: "..")
            }
        }
    }

    /// A file, symlink or submodule placeholder named `name` in directory `dirfd`.
    private func materialize(leaf e: Tree.Entry, in dirfd: Int32, name: String, shown: @autoclosure () -> String,
                             times: [timespec], progress: (UInt64) -> Void) throws {
        switch e.kind {
        case .file, .executable:
            let mode: mode_t = e.kind == .executable ? 0o755 : 0o644
            let raw = try syscall("create \(shown())") { openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
            let fd = FileDescriptor(owning: raw, path: shown())
            try FileReader(repo: self, manifest: e.id!).stream { bytes in
                try bytes.withUnsafeBytes { try fd.writeAll($0) }
                progress(UInt64(bytes.count))
            }
            try syscall("chmod \(shown())") { fchmod(fd.raw, mode) }
        case .symlink:
            try syscall("symlink \(shown())") { symlinkat(e.target!, dirfd, name) }
        case .submodule, .directory:
            // A submodule link has no content here: an empty directory marks its place.
            try syscall("mkdir \(shown())") { mkdirat(dirfd, name, 0o755) }
        }
        _ = times.withUnsafeBufferPointer { utimensat(dirfd, name, $0.baseAddress, AT_SYMLINK_NOFOLLOW) }
    }
}
