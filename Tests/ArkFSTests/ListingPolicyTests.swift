import Testing

@testable import ArkFS

/// Which readdirplus listings answer files by name alone: a caller that only reads names gets
/// lean listings after one probe; one that stats what it lists gets full ones, probed at
/// growing intervals; a file looked up in a lean listing drops every lean listing.
@Suite struct ListingPolicyTests {
    /// Threads 100 and 101 are one process; 200 another.
    static func policy() -> ListingPolicy { ListingPolicy(readGroup: { $0 == 101 ? 100 : $0 }) }

    @Test func aWalkThatReadsNamesOnlyIsAnsweredLeanAfterOneProbe() {
        let p = Self.policy()
        let lean = (1...6).map { p.listsLean(tid: 100, directory: UInt64($0), offset: 0) }
        #expect(lean == [false, true, true, true, true, true])
    }

    @Test func aWalkThatStatsWhatItListsStaysFullWithProbesAtGrowingIntervals() {
        let p = Self.policy()
        var lean: [Bool] = []
        for dir in 1...20 {
            let l = p.listsLean(tid: 100, directory: UInt64(dir), offset: 0)
            lean.append(l)
            // du stats every entry it listed; only a lean one costs lookups.
            if l { _ = p.noteFileLookup(tid: 100, parent: UInt64(dir)) }
        }
        // Probes at listings 2, 7 (2 + 4 after the verdict at 3) and 16 (8 after 8).
        let probes = lean.indices.filter { lean[$0] }.map { $0 + 1 }
        #expect(probes == [2, 7, 16])
    }

    @Test func aNamesWalkerThatStartsStattingIsAnsweredFullAtItsNextListing() {
        let p = Self.policy()
        for dir in 1...4 { _ = p.listsLean(tid: 100, directory: UInt64(dir), offset: 0) }
        #expect(p.listsLean(tid: 100, directory: 5, offset: 0))
        _ = p.noteFileLookup(tid: 101, parent: 5)  // another thread of the same process
        #expect(!p.listsLean(tid: 100, directory: 6, offset: 0))
        #expect(!p.listsLean(tid: 200, directory: 7, offset: 0), "another process starts full")
    }

    @Test func laterReadsOfOneListingKeepItsAnswer() {
        let p = Self.policy()
        _ = p.listsLean(tid: 100, directory: 1, offset: 0)
        #expect(p.listsLean(tid: 100, directory: 2, offset: 0))
        #expect(p.listsLean(tid: 100, directory: 2, offset: 500))
        #expect(!p.listsLean(tid: 200, directory: 9, offset: 0))
        #expect(!p.listsLean(tid: 200, directory: 9, offset: 500))
    }

    @Test func aFileLookedUpInALeanListingDropsEveryLeanListingOnce() {
        let p = Self.policy()
        for dir in 1...5 { _ = p.listsLean(tid: 100, directory: UInt64(dir), offset: 0) }
        // A process that never listed (the kernel answered it from its cache) stats a file
        // in a full listing, then in a lean one.
        #expect(p.noteFileLookup(tid: 200, parent: 1).isEmpty)
        #expect(Set(p.noteFileLookup(tid: 200, parent: 3)) == [2, 3, 4, 5])
        #expect(p.noteFileLookup(tid: 200, parent: 4).isEmpty, "already dropped")
        // That process stats: its own first listings are full.
        #expect(!p.listsLean(tid: 200, directory: 2, offset: 0))
        #expect(!p.listsLean(tid: 200, directory: 3, offset: 0))
    }

    /// `du` of a tree whose top directories hold only directories: the probe falls on a
    /// listing with files, so the lookups that follow it keep du's listings full.
    @Test func listingsWithoutFilesAreNoEvidence() {
        let p = Self.policy()
        #expect(!p.listsLean(tid: 100, directory: 1, offset: 0, hasFiles: false))
        #expect(!p.listsLean(tid: 100, directory: 2, offset: 0, hasFiles: false))
        #expect(!p.listsLean(tid: 100, directory: 3, offset: 0))
        #expect(p.listsLean(tid: 100, directory: 4, offset: 0), "the probe")
        _ = p.noteFileLookup(tid: 100, parent: 4)
        #expect(!p.listsLean(tid: 100, directory: 5, offset: 0, hasFiles: false))
        #expect(!p.listsLean(tid: 100, directory: 6, offset: 0), "du stats: full")
        #expect(!p.listsLean(tid: 100, directory: 7, offset: 0))
    }
}
