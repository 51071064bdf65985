import Foundation
import Glibc
import Synchronization

/// The bounded local cache of a store whose packs live in a bucket (`PackStorage`): records
/// fetched with ranged reads, one file per object under `<store>/cache/` (the stored bytes,
/// exactly as in the pack), plus the local copies of packs this node wrote and uploaded.
/// Together they are kept under `limit` bytes (`[store] cache_limit`), least recently used
/// first out. Nothing here is trusted: every record read from it is hash-verified like any
/// other read, and a bad one is dropped and fetched again. Cache files are written without
/// fsync for the same reason. The index never points at these files, so any of them may go
/// at any moment (another process trimming): a reader that finds one gone fetches again.
final class RecordCache: Sendable {
    let directory: String
    let packDirectory: String
    let limit: Int64
    private struct Accounting {
        /// Bytes in the cache as this process last counted them plus what it added since; nil
        /// until first counted (a directory scan).
        var usage: Int64?
        var trimming = false
        /// Added while a trim was scanning: counted on top of what the scan found.
        var addedDuringTrim: Int64 = 0
    }
    private let accounting = Mutex(Accounting())

    init(store: String, limit: Int64) {
        directory = store + "/cache"
        packDirectory = store + "/packs"
        self.limit = limit
    }

    private func path(_ id: ObjectID) -> String { directory + "/" + id.hex }

    /// The cached stored bytes of `id` if a file of exactly `count` bytes is there; marks it
    /// recently used.
    func load(_ id: ObjectID, count: Int) -> [UInt8]? {
        let p = path(id)
        let fd = Glibc.open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) == count else { return nil }
        var ok = true
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            var done = 0
            while done < count {
                let r = pread(fd, buf.baseAddress! + done, count - done, off_t(done))
                if r <= 0 { ok = false; break }
                done += r
            }
            n = ok ? count : 0
        }
        guard ok else { return nil }
        futimens(fd, nil)
        return bytes
    }

    /// Keeps `bytes` (verified just now) as the stored bytes of `id`, then trims the cache if
    /// it grew over the limit. Failing to cache is not an error: the read already succeeded.
    func store(_ id: ObjectID, _ bytes: [UInt8], remotePacks: () throws -> Set<String>) {
        mkdir(directory, 0o755)
        let final = path(id)
        let tmp = final + ".tmp\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { return }
        let written = bytes.withUnsafeBytes { b -> Bool in
            var done = 0
            while done < b.count {
                let r = write(fd, b.baseAddress! + done, b.count - done)
                if r <= 0 { return false }
                done += r
            }
            return true
        }
        close(fd)
        guard written, rename(tmp, final) == 0 else { unlink(tmp); return }
        added(Int64(bytes.count), remotePacks: remotePacks)
    }

    func drop(_ id: ObjectID) { unlink(path(id)) }

    /// Counts `bytes` new in the cache (a fetched record, or a pack just uploaded) and trims
    /// when over the limit.
    func added(_ bytes: Int64, remotePacks: () throws -> Set<String>) {
        let over = accounting.withLock { a -> Bool in
            if a.trimming { a.addedDuringTrim += bytes }
            guard let current = a.usage else { return true }
            a.usage = current + bytes
            return current + bytes > limit
        }
        if over { trim(remotePacks: remotePacks) }
    }

    /// Deletes least recently used entries until the cache holds at most three quarters of
    /// the limit: cached records, and local files of packs the bucket holds (`remotePacks`,
    /// from the index: a pack not yet confirmed there is never touched). One trim runs at a
    /// time; bytes added meanwhile are counted, and trimmed by another pass if they exceed it.
    @discardableResult
    func trim(remotePacks: () throws -> Set<String>) -> (files: Int, bytes: Int64) {
        let start = accounting.withLock { a -> Bool in
            if a.trimming { return false }
            a.trimming = true
            a.addedDuringTrim = 0
            return true
        }
        guard start else { return (0, 0) }
        var removed = (files: 0, bytes: Int64(0))
        while true {
            let total = (try? remotePacks()).map { trimPass($0, &removed) }
            let again = accounting.withLock { a -> Bool in
                guard let total else { a.trimming = false; return false }
                a.usage = total + a.addedDuringTrim
                if a.usage! > limit && a.addedDuringTrim > 0 {
                    a.addedDuringTrim = 0
                    return true
                }
                a.trimming = false
                return false
            }
            if !again { return removed }
        }
    }

    /// One scan and deletion; returns the bytes left.
    private func trimPass(_ remote: Set<String>, _ removed: inout (files: Int, bytes: Int64)) -> Int64 {
        var entries: [(path: String, bytes: Int64, used: Int)] = []
        func scan(_ dir: String, _ include: (String) -> Bool) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where include(name) {
                var st = stat()
                guard lstat(dir + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                entries.append((dir + "/" + name, Int64(st.st_size), st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec))
            }
        }
        scan(directory) { name in
            guard name.contains(".tmp") else { return true }
            // Left by a process that died while writing it: gone after ten minutes.
            var st = stat()
            if lstat(directory + "/" + name, &st) == 0, time(nil) - st.st_mtim.tv_sec > 600 { unlink(directory + "/" + name) }
            return false
        }
        scan(packDirectory) { remote.contains($0) }
        var total = entries.reduce(0) { $0 + $1.bytes }
        let target = limit / 4 * 3
        if total > limit {
            for e in entries.sorted(by: { $0.used < $1.used }) where total > target {
                guard unlink(e.path) == 0 else { continue }
                total -= e.bytes
                removed.files += 1
                removed.bytes += e.bytes
            }
        }
        return total
    }

    /// Bytes held now (a directory scan).
    func bytesHeld(remotePacks: Set<String>) -> Int64 {
        var total: Int64 = 0
        func scan(_ dir: String, _ include: (String) -> Bool) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where include(name) {
                var st = stat()
                if lstat(dir + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int64(st.st_size) }
            }
        }
        scan(directory) { _ in true }
        scan(packDirectory) { remotePacks.contains($0) }
        return total
    }
}
