import Foundation
import Glibc

extension Repository {
    /// Materializes an entry (tree, file or symlink) at `destination`, which must not exist.
    /// Files and directories get their stored permission bits (as `tar -p` restores them; 0644,
    /// 0755 for executables and directories where none is stored), and every entry its stored
    /// mtime, else `mtime`.
    /// Work happens in a temporary sibling that is renamed into place at the end, so a failure
    /// leaves nothing half-written.
    package func export(_ entry: Tree.Entry, to destination: String, mtime: Int64, progress: (UInt64) -> Void = { _ in }) throws {
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
                break  // cannot go in nor remove it: give up
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
    /// Directories are created 0700 and get their stored mode and mtime after their contents.
    private func materialize(_ root: Tree.Entry, at path: String, mtime: Int64, progress: (UInt64) -> Void) throws {
        let fallback = Tree.Timestamp(seconds: mtime)
        guard root.kind == .directory else {
            try materialize(leaf: root, in: AT_FDCWD, name: FileName(path), shown: path, fallback: fallback, progress: progress)
            return
        }
        try syscall("mkdir \(path)") { mkdir(path, 0o700) }
        var dir = try FileDescriptor(open: path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        struct Frame { var entry: Tree.Entry; var entries: [Tree.Entry]; var next = 0; var name: [UInt8] }
        var stack = [Frame(entry: root, entries: try tree(root.id!).entries, name: Array(path.utf8))]
        func shown(_ name: FileName) -> String {
            EntryPath(bytes: (stack.map(\.name) + [name.bytes]).joined(separator: [0x2F])).description
        }
        while let top = stack.indices.last {
            if stack[top].next < stack[top].entries.count {
                let e = stack[top].entries[stack[top].next]
                stack[top].next += 1
                guard e.kind == .directory else {
                    try materialize(leaf: e, in: dir.raw, name: e.name, shown: shown(e.name), fallback: fallback, progress: progress)
                    continue
                }
                try syscall("mkdir \(shown(e.name))") { e.name.withCString { mkdirat(dir.raw, $0, 0o700) } }
                let child = try syscall("open \(shown(e.name))") {
                    e.name.withCString { openat(dir.raw, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                }
                dir = FileDescriptor(owning: child, path: e.name.description)
                stack.append(Frame(entry: e, entries: try tree(e.id!).entries, name: e.name.bytes))
                continue
            }
            let done = stack[top].entry
            try syscall("chmod \(shown(""))") { fchmod(dir.raw, mode_t(done.permissions)) }
            let times = Self.times(done.mtime ?? fallback)
            try syscall("set times of \(shown(""))") { times.withUnsafeBufferPointer { futimens(dir.raw, $0.baseAddress) } }
            stack.removeLast()
            if !stack.isEmpty {
                let parent = try syscall("open \(shown(".."))") { openat(dir.raw, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                dir = FileDescriptor(owning: parent, path: "..")
            }
        }
    }

    private static func times(_ t: Tree.Timestamp) -> [timespec] {
        let ts = timespec(tv_sec: Int(t.seconds), tv_nsec: Int(t.nanoseconds))
        return [ts, ts]
    }

    /// A file, symlink or submodule placeholder named `name` in directory `dirfd`, with its
    /// stored mode (set explicitly, so the umask does not apply) and mtime.
    private func materialize(
        leaf e: Tree.Entry, in dirfd: Int32, name: FileName, shown: @autoclosure () -> String,
        fallback: Tree.Timestamp, progress: (UInt64) -> Void
    ) throws {
        switch e.kind {
        case .file, .executable:
            // The reader first: a file whose tree entry and manifest disagree is not created.
            let reader = try FileReader(repo: self, entry: e)
            let raw = try syscall("create \(shown())") {
                name.withCString { openat(dirfd, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            }
            let fd = FileDescriptor(owning: raw, path: shown())
            try reader.stream { bytes in
                try bytes.withUnsafeBytes { try fd.writeAll($0) }
                progress(UInt64(bytes.count))
            }
            // After the content: a write by a non-owner would clear setuid and setgid.
            try syscall("chmod \(shown())") { fchmod(fd.raw, mode_t(e.permissions)) }
        case .symlink:
            try syscall("symlink \(shown())") {
                name.withCString { n in FileName.withCString(e.target ?? []) { t in symlinkat(t, dirfd, n) } }
            }
        case .submodule, .directory:
            // A submodule link has no content here: an empty directory marks its place.
            try syscall("mkdir \(shown())") { name.withCString { mkdirat(dirfd, $0, mode_t(e.permissions)) } }
        }
        let times = Self.times(e.mtime ?? fallback)
        try syscall("set times of \(shown())") {
            times.withUnsafeBufferPointer { p in name.withCString { utimensat(dirfd, $0, p.baseAddress, AT_SYMLINK_NOFOLLOW) } }
        }
    }
}
