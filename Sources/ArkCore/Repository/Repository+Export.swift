import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
    }

    private func materialize(_ e: Tree.Entry, at path: String, mtime: Int64, progress: (UInt64) -> Void) throws {
        switch e.kind {
        case .directory:
            try syscall("mkdir \(path)") { mkdir(path, 0o755) }
            for child in try tree(e.id!).entries {
                try materialize(child, at: path + "/" + child.name, mtime: mtime, progress: progress)
            }
            try syscall("chmod \(path)") { chmod(path, 0o755) }
        case .file, .executable:
            let mode: mode_t = e.kind == .executable ? 0o755 : 0o644
            let fd = try FileDescriptor(open: path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            try FileReader(repo: self, manifest: e.id!).stream { bytes in
                try bytes.withUnsafeBytes { try fd.writeAll($0) }
                progress(UInt64(bytes.count))
            }
            try syscall("chmod \(path)") { fchmod(fd.raw, mode) }
        case .symlink:
            try syscall("symlink \(path)") { symlink(e.target!, path) }
        case .submodule:
            // A submodule link has no content here: an empty directory marks its place.
            try syscall("mkdir \(path)") { mkdir(path, 0o755) }
        }
        var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }
}
