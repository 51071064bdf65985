import Glibc

/// Creating and reading the small files of a store (keys, `endpoint_id`, lock files) without
/// following a planted symbolic link and without a name another user could predict: a
/// temporary file gets a random suffix and `O_EXCL | O_NOFOLLOW`, then is linked or renamed
/// into place, so a symlink or file planted under any of these names is never written through.
extension FileDescriptor {
    /// Opens `path`; on failure the errno (EINTR retried), for callers that describe each case.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) -> Result<FileDescriptor, Errno> {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return .success(FileDescriptor(owning: fd, path: path)) }
            let e = Errno.current
            if e != .interrupted { return .failure(e) }
        }
    }

    /// Whether the descriptor refers to a regular file.
    func isRegularFile() throws -> Bool {
        var st = stat()
        try syscall("stat \(path)") { fstat(raw, &st) }
        return st.st_mode & S_IFMT == S_IFREG
    }

    /// The contents of the secret or small file at `path` (not following a symlink), or nil
    /// if there is none. `what` names the file in errors ("node key"); a file of another
    /// size than `expectedCount` (when given), a symlink, a directory or an unreadable file
    /// is an error that says which.
    static func readStoreFile(_ path: String, what: String, expectedCount: Int? = nil) throws -> [UInt8]? {
        let fd: FileDescriptor
        switch open(path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
        case .success(let f): fd = f
        case .failure(.noEntry): return nil
        case .failure(let e) where e.rawValue == ELOOP:
            throw ArkError(.invalidArgument, "\(what) \(path) is a symbolic link; refusing to follow it")
        case .failure(let e):
            throw ArkError(.io, "\(what) \(path) cannot be read: \(e)", context: "errno \(e.rawValue)")
        }
        guard try fd.isRegularFile() else {
            throw ArkError(.invalidArgument, "\(what) \(path) is not a regular file")
        }
        let size = Int(try fd.size())
        if let expectedCount, size != expectedCount {
            throw ArkError(.corrupt, "\(what) \(path) is \(size) bytes, expected \(expectedCount) (truncated or not a \(what))")
        }
        var out = [UInt8](repeating: 0, count: size)
        do {
            try out.withUnsafeMutableBytes { try fd.pread(into: $0, at: 0) }
        } catch let e as ArkError {
            throw ArkError(e.code, "\(what) \(path) cannot be read: \(e.message)", context: e.context)
        }
        return out
    }

    /// A new file named `<path>.tmp.<random hex>` holding `bytes`, written and fsynced; the
    /// caller links or renames it into place and the name is returned for that.
    private static func writeTemporary(besides path: String, _ bytes: [UInt8], mode: mode_t) throws -> String {
        var rnd = SystemRandomNumberGenerator()
        let tmp = path + ".tmp." + HexCodec.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &rnd) })
        let fd = try FileDescriptor(open: tmp, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        do {
            try bytes.withUnsafeBytes { try fd.writeAll($0) }
            try fd.sync()
        } catch {
            unlink(tmp)
            throw error
        }
        return tmp
    }

    /// Creates `path` holding `bytes` only if nothing has that name yet: false when something
    /// (a file another process just created, or anything planted) already does. Durable on
    /// return (file and directory entry fsynced).
    static func createStoreFile(_ path: String, _ bytes: [UInt8], mode: mode_t, directory: String) throws -> Bool {
        let tmp = try writeTemporary(besides: path, bytes, mode: mode)
        defer { unlink(tmp) }
        // link() never follows or replaces an existing name, symlinks included.
        if link(tmp, path) != 0 {
            let e = Errno.current
            if e.rawValue == EEXIST { return false }
            throw ArkError(.io, "create \(path): \(e)", context: "errno \(e.rawValue)")
        }
        try syncDirectory(directory)
        return true
    }

    /// Replaces `path` with a file holding `bytes` (rename of a fresh temporary file: a
    /// symlink at `path` is replaced, never written through).
    static func replaceStoreFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let tmp = try writeTemporary(besides: path, bytes, mode: mode)
        do {
            try syscall("rename \(tmp)") { rename(tmp, path) }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// For files another library opens by name (SQLite's index, journal and WAL): refuses a
    /// symlink or anything but a regular file at `path`, and creates `path` empty (exclusively,
    /// never through a symlink) when `create` and there is nothing there yet.
    static func prepareStoreFile(_ path: String, what: String, create: Bool) throws {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFREG else {
                let kind = st.st_mode & S_IFMT == S_IFLNK ? "a symbolic link; refusing to follow it" : "not a regular file"
                throw ArkError(.invalidArgument, "\(what) \(path) is \(kind)")
            }
            return
        }
        let e = Errno.current
        guard e == .noEntry else { throw ArkError(.io, "stat \(path): \(e)", context: "errno \(e.rawValue)") }
        guard create else { return }
        switch open(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o644) {
        case .success: return
        case .failure(let e) where e.rawValue == EEXIST: try prepareStoreFile(path, what: what, create: false)
        case .failure(let e): throw ArkError(.io, "create \(path): \(e)", context: "errno \(e.rawValue)")
        }
    }

    /// Opens (creating if needed) the lock file `path`: never truncated, and a symlink or
    /// anything but a regular file there is refused.
    static func openLockFile(_ path: String) throws -> FileDescriptor {
        let fd: FileDescriptor
        switch open(path, flags: O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o644) {
        case .success(let f): fd = f
        case .failure(let e) where e.rawValue == ELOOP:
            throw ArkError(.invalidArgument, "lock file \(path) is a symbolic link; refusing to follow it (remove it)")
        case .failure(let e):
            throw ArkError(.io, "open lock file \(path): \(e)", context: "errno \(e.rawValue)")
        }
        guard try fd.isRegularFile() else {
            throw ArkError(.invalidArgument, "lock file \(path) is not a regular file (remove it)")
        }
        return fd
    }
}
