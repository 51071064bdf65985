import Glibc
import Synchronization
import Testing

@testable import ArkFS

/// Which readdirplus listings answer files by name alone: a caller that only reads names gets
/// lean listings after one probe; one that stats what it lists gets full ones, probed at
/// growing intervals; another process's file lookup in a lean listing drops every lean listing.
@Suite struct ListingPolicyTests {
    /// Threads 100 and 101 are one process; 200 another.
    static func policy() -> ListingPolicy { ListingPolicy(readGroup: { $0 == 101 ? 100 : $0 }) }

    static func lean(_ p: ListingPolicy, _ tid: Int32, _ dir: Int, offset: Int = 0, hasFiles: Bool = true) -> Bool {
        p.listsLean(tid: tid, directory: UInt64(dir), offset: offset, hasFiles: hasFiles).lean
    }

    @Test func aWalkThatReadsNamesOnlyIsAnsweredLeanAfterOneProbe() {
        let p = Self.policy()
        let lean = (1...6).map { Self.lean(p, 100, $0) }
        #expect(lean == [false, true, true, true, true, true])
    }

    @Test func aWalkThatStatsWhatItListsStaysFullWithProbesAtGrowingIntervals() {
        let p = Self.policy()
        var lean: [Bool] = []
        for dir in 1...20 {
            let l = Self.lean(p, 100, dir)
            lean.append(l)
            // du stats every entry it listed; only a lean one costs lookups.
            if l { #expect(p.noteFileLookup(tid: 100, parent: UInt64(dir)).isEmpty, "its own listing: nothing dropped") }
        }
        // Probes at listings 2, 7 (2 + 4 after the verdict at 3) and 16 (8 after 8).
        let probes = lean.indices.filter { lean[$0] }.map { $0 + 1 }
        #expect(probes == [2, 7, 16])
    }

    /// A walker that lists on one thread and stats on another: the stats of a probe arrive
    /// after the next listing, so it may go lean once, but each misjudgement spaces the probes.
    @Test func aWalkerStattingOnAnotherThreadIsProbedLessAndLessOften() {
        let p = Self.policy()
        var lean: [Bool] = []
        for dir in 1...40 {
            lean.append(Self.lean(p, 100, dir))
            if dir > 1 { _ = p.noteFileLookup(tid: 101, parent: UInt64(dir - 1)) }  // stats lag one listing
        }
        #expect(lean.filter { $0 }.count <= 8, "\(lean)")
        #expect(lean.suffix(16).filter { $0 }.count <= 2, "\(lean)")
    }

    @Test func aNamesWalkerThatStartsStattingIsAnsweredFullAtItsNextListing() {
        let p = Self.policy()
        for dir in 1...4 { _ = Self.lean(p, 100, dir) }
        #expect(Self.lean(p, 100, 5))
        _ = p.noteFileLookup(tid: 101, parent: 5)  // another thread of the same process
        #expect(!Self.lean(p, 100, 6))
        #expect(!Self.lean(p, 200, 7), "another process starts full")
    }

    @Test func laterReadsOfOneListingKeepItsAnswer() {
        let p = Self.policy()
        _ = Self.lean(p, 100, 1)
        #expect(Self.lean(p, 100, 2))
        #expect(Self.lean(p, 100, 2, offset: 500))
        #expect(!Self.lean(p, 200, 9))
        #expect(!Self.lean(p, 200, 9, offset: 500))
    }

    @Test func anotherProcessLookingUpAFileInALeanListingDropsEveryLeanListingOnce() {
        let p = Self.policy()
        for dir in 1...5 { _ = Self.lean(p, 100, dir) }
        // A process that never listed (the kernel answered it from its cache) stats a file
        // in a full listing, then in a lean one.
        #expect(p.noteFileLookup(tid: 200, parent: 1).isEmpty)
        #expect(Set(p.noteFileLookup(tid: 200, parent: 3)) == [2, 3, 4, 5])
        #expect(p.noteFileLookup(tid: 200, parent: 4).isEmpty, "already dropped")
        #expect(p.counts.dropped == 4)
        // That process stats: its own first listings are full.
        #expect(!Self.lean(p, 200, 2))
        #expect(!Self.lean(p, 200, 3))
        // A listing continued lean after the drop is remembered again.
        #expect(Self.lean(p, 100, 6))
        _ = p.noteFileLookup(tid: 200, parent: 1)
        #expect(Self.lean(p, 100, 6, offset: 40))
        #expect(p.noteFileLookup(tid: 200, parent: 6) == [6])
    }

    @Test func aDirectoryTheKernelForgotIsNoLongerDropped() {
        let p = Self.policy()
        for dir in 1...3 { _ = Self.lean(p, 100, dir) }  // 2 and 3 lean
        p.forgot(3)
        #expect(Set(p.noteFileLookup(tid: 200, parent: 2)) == [2])
    }

    @Test func aDirectoryListedInFullIsNoLongerDropped() {
        let p = Self.policy()
        for dir in 1...3 { _ = Self.lean(p, 100, dir) }  // 2 and 3 lean
        _ = Self.lean(p, 200, 3)  // another process's first listing: full
        #expect(Set(p.noteFileLookup(tid: 300, parent: 2)) == [2])
    }

    /// `du` of a tree whose top directories hold only directories: the probe falls on a
    /// listing with files, so the lookups that follow it keep du's listings full.
    @Test func listingsWithoutFilesAreNoEvidence() {
        let p = Self.policy()
        #expect(!Self.lean(p, 100, 1, hasFiles: false))
        #expect(!Self.lean(p, 100, 2, hasFiles: false))
        #expect(!Self.lean(p, 100, 3))
        #expect(Self.lean(p, 100, 4), "the probe")
        _ = p.noteFileLookup(tid: 100, parent: 4)
        #expect(!Self.lean(p, 100, 5, hasFiles: false))
        #expect(!Self.lean(p, 100, 6), "du stats: full")
        #expect(!Self.lean(p, 100, 7))
    }

    /// A process not seen for 2 s is forgotten (its pid may belong to another process by
    /// then): its next listing is a first one again, full.
    @Test func aCallerIdleFor2SecondsStartsOver() {
        let now = Mutex<UInt64>(1_000_000_000)
        let p = ListingPolicy(readGroup: { $0 }, clock: { now.withLock { $0 } })
        for dir in 1...3 { _ = Self.lean(p, 100, dir) }
        #expect(Self.lean(p, 100, 4), "a names walker")
        now.withLock { $0 += 1_900_000_000 }
        #expect(Self.lean(p, 100, 5), "still the same process after 1.9 s")
        now.withLock { $0 += 2_100_000_000 }
        #expect(!Self.lean(p, 100, 6), "forgotten after 2.1 s: a first listing")
        #expect(Self.lean(p, 100, 7), "then the probe")
    }

    /// Past `maxLeanDirectories` lean listings, all of them are dropped and forgotten, and
    /// listings go on lean.
    @Test func aFullSetOfLeanListingsIsDroppedNotTurnedOff() {
        let p = Self.policy()
        _ = Self.lean(p, 100, 0)
        var drops: [[UInt64]] = []
        for dir in 1...ListingPolicy.maxLeanDirectories + 1 {
            let d = p.listsLean(tid: 100, directory: UInt64(dir), offset: 0)
            #expect(d.lean || dir == 0)
            if !d.drop.isEmpty { drops.append(d.drop) }
        }
        #expect(drops.count == 1)
        #expect(drops.first?.count == ListingPolicy.maxLeanDirectories)
        #expect(Set(drops.first ?? []) == Set((1...UInt64(ListingPolicy.maxLeanDirectories)).map { $0 }))
        #expect(p.counts.dropped == ListingPolicy.maxLeanDirectories)
        // The last one is remembered: another process's lookup there drops it.
        #expect(
            p.noteFileLookup(tid: 200, parent: UInt64(ListingPolicy.maxLeanDirectories + 1)) == [
                UInt64(ListingPolicy.maxLeanDirectories + 1)
            ])
    }

    @Test func aThreadsGroupIsReadFromProc() async {
        // From a thread other than the main one: its id differs from the process id.
        let (tid, group) = await Task.detached { () -> (Int32, Int32?) in
            // /proc/thread-self names "<pid>/task/<tid>".
            var link = [CChar](repeating: 0, count: 64)
            let n = readlink("/proc/thread-self", &link, link.count - 1)
            let t = n > 0 ? Int32(String(cString: link).split(separator: "/").last ?? "") ?? 0 : 0
            return (t, ListingPolicy.readThreadGroup(t))
        }.value
        #expect(group == getpid(), "thread \(tid)")
        #expect(ListingPolicy.readThreadGroup(0) == nil)
    }
}
