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
/// The kernel keeps a listing and answers later readers from it. When another process looks a
/// file up in a directory listed lean (`du` after `find`), every lean listing is dropped from
/// the kernel's cache (`noteFileLookup`), so each directory is asked for again and answered
/// full to a caller that stats. Callers are thread groups (a walker may list on one thread and
/// stat on others); one unseen for 2 s is forgotten (its pid may be reused). Callers in another
/// pid namespace (tid 0) share one state; where /proc hides other processes, each thread
/// counts as a process. Both cost speed at most, never a wrong entry.
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

    /// What a mount did, for tests and `user.ark.listings` on the root.
    struct Counts: Equatable {
        var leanEntries = 0
        var fullEntries = 0
        var dropped = 0
    }

    private struct State {
        var callers: [Int32: Caller] = [:]
        var lastPrune: UInt64 = 0
        /// Thread id -> (thread group id, when read from /proc): a thread id is re-read after
        /// `callerIdle`, as it may belong to another process by then.
        var groups: [Int32: (group: Int32, read: UInt64)] = [:]
        /// Directories listed lean since they were last dropped (the kernel may hold those
        /// listings), each with the process it was listed for.
        var leanDirectories: [UInt64: Int32] = [:]
        var counts = Counts()
    }

    private let state = Mutex(State())
    private let readGroup: @Sendable (Int32) -> Int32?
    private let clock: @Sendable () -> UInt64
    /// Lean directories remembered at most; when full, all are dropped and forgotten.
    static let maxLeanDirectories = 65_536
    static let maxProbeInterval = 256
    static let maxCallers = 4096
    static let callerIdle: UInt64 = 2_000_000_000

    /// `readGroup` maps a thread id to its thread group, `clock` gives monotonic nanoseconds
    /// (tests give their own).
    init(
        readGroup: @escaping @Sendable (Int32) -> Int32? = ListingPolicy.readThreadGroup,
        clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        self.readGroup = readGroup
        self.clock = clock
    }

    var counts: Counts { state.withLock { $0.counts } }

    /// Counts the entries of one readdirplus reply that were answered lean and in full
    /// (files and symlinks only).
    func count(lean: Int, full: Int) {
        guard lean + full > 0 else { return }
        state.withLock { s in
            s.counts.leanEntries += lean
            s.counts.fullEntries += full
        }
    }

    /// Whether the listing of `directory` from `offset` answers files lean for thread `tid`,
    /// and the directories whose listings to drop from the kernel's cache (when the set of
    /// lean ones is full). A directory without files (`hasFiles` false) is answered in full
    /// and is no evidence either way: the verdict on the last lean listing waits for one
    /// with files.
    func listsLean(tid: Int32, directory: UInt64, offset: Int, hasFiles: Bool = true) -> (lean: Bool, drop: [UInt64]) {
        guard hasFiles else { return (false, []) }
        let group = threadGroup(of: tid)
        let now = clock()
        return state.withLock { s in
            prune(&s, now: now)
            var c = s.callers[group].flatMap { now &- $0.lastSeen < Self.callerIdle ? $0 : nil } ?? Caller()
            defer {
                c.lastSeen = now
                s.callers[group] = c
            }
            if offset > 0 {
                // The rest of a listing (also after its directory was dropped meanwhile: what
                // is answered lean now is cached lean again).
                let lean = c.directory == directory ? c.listedLean : (c.lean && s.leanDirectories[directory] != nil)
                return (lean, lean ? remember(&s, directory, group) : [])
            }
            // A new listing: first the verdict on the last one.
            c.listings += 1
            if c.lean && c.lookedUpFile {
                // Judged wrong (a walker that stats on other threads than it lists on): full,
                // and the next probe later.
                c.lean = false
                c.probeInterval = min(c.probeInterval * 2, Self.maxProbeInterval)
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
            let lean = c.lean || c.listings >= c.nextProbe
            c.listedLean = lean
            guard lean else {
                // Listed in full now: what the kernel caches from here on has attributes.
                s.leanDirectories[directory] = nil
                return (false, [])
            }
            return (true, remember(&s, directory, group))
        }
    }

    /// Notes that thread `tid` looked up a file (or symlink) in `parent`. Returns the
    /// directories to drop from the kernel's cache: every lean one when `parent` was listed
    /// lean for another process (`du` after `find`: it walks on into the others), else none
    /// (the process's own lean listing: its next listing is full).
    func noteFileLookup(tid: Int32, parent: UInt64) -> [UInt64] {
        let group = threadGroup(of: tid)
        let now = clock()
        return state.withLock { s in
            prune(&s, now: now)
            var c =
                s.callers[group]
                ?? {
                    // A caller not seen listing (the kernel answered it from a lean listing):
                    // it stats, so its first listing is full and its first probe comes later.
                    var c = Caller()
                    c.nextProbe = 1 + c.probeInterval
                    return c
                }()
            c.lookedUpFile = true
            c.lastSeen = now
            s.callers[group] = c
            guard let lister = s.leanDirectories[parent], lister != group else { return [] }
            return dropAll(&s)
        }
    }

    /// The kernel forgot `directory`'s inode, and with it the entries it had cached: nothing of
    /// that listing is left to drop.
    func forgot(_ directory: UInt64) {
        state.withLock { s in _ = s.leanDirectories.removeValue(forKey: directory) }
    }

    /// Records `directory` as listed lean for `group`; when the set is full, every listing
    /// in it is to be dropped first.
    private func remember(_ s: inout State, _ directory: UInt64, _ group: Int32) -> [UInt64] {
        let drop = s.leanDirectories.count >= Self.maxLeanDirectories ? dropAll(&s) : []
        s.leanDirectories[directory] = group
        return drop
    }

    private func dropAll(_ s: inout State) -> [UInt64] {
        let all = Array(s.leanDirectories.keys)
        s.leanDirectories.removeAll()
        s.counts.dropped += all.count
        return all
    }

    /// Forgets callers not seen for `callerIdle` (at most once per `callerIdle`), and all of
    /// them past `maxCallers`.
    private func prune(_ s: inout State, now: UInt64) {
        guard now &- s.lastPrune >= Self.callerIdle || s.callers.count >= Self.maxCallers else { return }
        s.lastPrune = now
        s.callers = s.callers.filter { now &- $0.value.lastSeen < Self.callerIdle }
        if s.callers.count >= Self.maxCallers { s.callers.removeAll() }
        s.groups = s.groups.filter { now &- $0.value.read < Self.callerIdle }
    }

    private func threadGroup(of tid: Int32) -> Int32 {
        let now = clock()
        if let g = state.withLock({ s in s.groups[tid].flatMap { now &- $0.read < Self.callerIdle ? $0.group : nil } }) { return g }
        let g = readGroup(tid) ?? tid
        state.withLock { s in
            if s.groups.count >= Self.maxCallers { s.groups.removeAll(keepingCapacity: true) }
            s.groups[tid] = (g, now)
        }
        return g
    }

    /// The `Tgid:` of /proc/TID/status; nil when it cannot be read (the thread is gone, or
    /// in another pid namespace: `tid` is then 0).
    static func readThreadGroup(_ tid: Int32) -> Int32? {
        guard tid > 0, let text = try? String(contentsOfFile: "/proc/\(tid)/status", encoding: .utf8) else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Tgid:") }) else { return nil }
        return Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
    }
}
