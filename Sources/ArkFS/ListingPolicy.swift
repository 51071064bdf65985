import Foundation
import Synchronization

/// Decides, per calling process, whether a readdirplus reply gives files and symlinks their
/// inodes and attributes ("full") or only their names and types ("lean"). Subdirectories always
/// get theirs, so a walk goes down without a lookup either way.
///
/// A full entry saves the lookup of a caller that stats what it lists (`du`, `ls -l`, `rsync`,
/// `tar`). But the kernel makes an inode for every full entry, and a walk that only reads names
/// (`find` without filters, `fd`, completion) pays for those: a cold `find` of 200,000 files took
/// 2.2 s with every entry full, 1.0 s with files lean (native ext4 0.7 s). Which kind a caller
/// is shows in what it does after a listing:
/// - a process's first listing is full, its second a probe: lean;
/// - a file lookup between a lean listing and the process's next one means it stats what it
///   lists: its listings are full from then on, probing again after 2, 4, ... 256 listings;
/// - no file lookup: it reads names; its listings stay lean until it looks a file up.
///
/// The kernel keeps a listing and answers later readers from it. When a file is looked up in a
/// directory it holds a lean listing of (`du` after `find`), every lean listing is dropped from
/// the kernel's cache (`takeLeanDirectories`), so each directory is asked for again and answered
/// full to a caller that stats. Callers are thread groups (a walker may list on one thread and
/// stat on others); one unseen for 2 s is forgotten (its pid may be reused).
final class ListingPolicy: Sendable {
    private struct Caller {
        var listings = 0
        var lean = false
        /// The listing count at which the next probe is due (while full).
        var nextProbe = 2
        var probeInterval = 2
        /// The last listing was lean and no file was looked up since.
        var listedLean = false
        var lookedUpFile = false
        /// The directory being listed (readdir calls at offsets past 0 continue it).
        var directory: UInt64 = 0
        var lastSeen: UInt64 = 0
    }

    private struct State {
        var callers: [Int32: Caller] = [:]
        /// Thread id -> thread group id, read from /proc once per thread.
        var groups: [Int32: Int32] = [:]
        /// Directories listed lean since the last invalidation: the kernel may hold them.
        var leanDirectories: Set<UInt64> = []
    }

    private let state = Mutex(State())
    private let readGroup: @Sendable (Int32) -> Int32?
    /// Lean directories remembered at most; past this, listings are full (nothing to drop).
    static let maxLeanDirectories = 65_536
    static let maxProbeInterval = 256
    static let callerIdle: UInt64 = 2_000_000_000

    /// `readGroup` maps a thread id to its thread group (tests give their own).
    init(readGroup: @escaping @Sendable (Int32) -> Int32? = ListingPolicy.readThreadGroup) {
        self.readGroup = readGroup
    }

    /// Whether the listing of `directory` from `offset` answers files lean for thread `tid`.
    /// A directory without files (`hasFiles` false) is answered in full and is no evidence
    /// either way: the verdict on the last lean listing waits for one with files.
    func listsLean(tid: Int32, directory: UInt64, offset: Int, hasFiles: Bool = true) -> Bool {
        guard hasFiles else { return false }
        let group = threadGroup(of: tid)
        let now = DispatchTime.now().uptimeNanoseconds
        return state.withLock { s in
            if s.callers.count >= 1024 { s.callers = s.callers.filter { now &- $0.value.lastSeen < Self.callerIdle } }
            var c = s.callers[group].flatMap { now &- $0.lastSeen < Self.callerIdle ? $0 : nil } ?? Caller()
            defer {
                c.lastSeen = now
                s.callers[group] = c
            }
            if offset > 0 && c.directory == directory { return c.listedLean }
            if offset > 0 { return c.lean && s.leanDirectories.contains(directory) }
            // A new listing: first the verdict on the last one.
            c.listings += 1
            if c.lean && c.lookedUpFile {
                c.lean = false
                c.nextProbe = c.listings + c.probeInterval
            } else if !c.lean && c.listedLean {
                if c.lookedUpFile {
                    c.probeInterval = min(c.probeInterval * 2, Self.maxProbeInterval)
                    c.nextProbe = c.listings + c.probeInterval
                } else {
                    c.lean = true
                }
            }
            c.lookedUpFile = false
            c.directory = directory
            let lean = (c.lean || c.listings >= c.nextProbe) && s.leanDirectories.count < Self.maxLeanDirectories
            c.listedLean = lean
            if lean { s.leanDirectories.insert(directory) }
            return lean
        }
    }

    /// Notes that thread `tid` looked up a file (or symlink) in `parent`. Returns the
    /// directories to drop from the kernel's cache when `parent` was listed lean (then every
    /// lean listing goes: the caller walks on to them), or an empty list.
    func noteFileLookup(tid: Int32, parent: UInt64) -> [UInt64] {
        let group = threadGroup(of: tid)
        return state.withLock { s in
            if var c = s.callers[group] {
                c.lookedUpFile = true
                s.callers[group] = c
            } else {
                // A caller not seen listing (the kernel answered it from a lean listing):
                // it stats, so its first listing is full and its first probe comes later.
                var c = Caller()
                c.lookedUpFile = true
                c.nextProbe = 1 + c.probeInterval
                c.lastSeen = DispatchTime.now().uptimeNanoseconds
                s.callers[group] = c
            }
            guard s.leanDirectories.contains(parent) else { return [] }
            defer { s.leanDirectories = [] }
            return Array(s.leanDirectories)
        }
    }

    private func threadGroup(of tid: Int32) -> Int32 {
        if let g = state.withLock({ $0.groups[tid] }) { return g }
        let g = readGroup(tid) ?? tid
        state.withLock { s in
            if s.groups.count >= 4096 { s.groups.removeAll(keepingCapacity: true) }
            s.groups[tid] = g
        }
        return g
    }

    /// The `Tgid:` of /proc/TID/status; nil when it cannot be read (the thread is gone, or
    /// in another pid namespace: `tid` is then 0).
    static func readThreadGroup(_ tid: Int32) -> Int32? {
        guard tid > 0 else { return nil }
        let fd = open("/proc/\(tid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buf[0..<n], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Tgid:") }) else { return nil }
        return Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
    }
}
