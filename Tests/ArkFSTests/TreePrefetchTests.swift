import Foundation
import Testing

@testable import ArkCore
@testable import ArkFS

/// Trees loaded ahead of a directory walk: the listed directory's subdirectories first, then
/// theirs, with nothing but an in-memory source.
@Suite struct TreePrefetchTests {
    static func id(_ i: Int) -> ObjectID { ObjectHasher.hash(.tree, Array("tree \(i)".utf8)) }

    @Test func urgentTreesGoBeforeBackgroundOnesQueuedEarlierEachInOrder() {
        var q = TreePrefetchQueue()
        q.add((0..<3).map(Self.id), urgent: false)
        q.add((10..<12).map(Self.id), urgent: true)
        #expect(q.backgroundCount == 3)
        var order: [ObjectID] = []
        var urgent: [Bool] = []
        while let (id, u) = q.pop() {
            order.append(id)
            urgent.append(u)
        }
        #expect(order == [Self.id(10), Self.id(11), Self.id(0), Self.id(1), Self.id(2)])
        #expect(urgent == [true, true, false, false, false])
        #expect(q.backgroundCount == 0)
    }

    /// A depth-first walk lists the subdirectories of the directory it listed last before the
    /// siblings of earlier ones: the latest listing's trees go first, each listing's in order.
    @Test func theLatestListingsTreesGoFirst() {
        var q = TreePrefetchQueue()
        q.add((0..<3).map(Self.id), urgent: true)
        #expect(q.pop()?.id == Self.id(0))
        q.add((10..<12).map(Self.id), urgent: true)
        q.add([], urgent: true)
        q.add((20..<21).map(Self.id), urgent: false)
        var order: [ObjectID] = []
        while let (id, _) = q.pop() { order.append(id) }
        #expect(order == [Self.id(10), Self.id(11), Self.id(1), Self.id(2), Self.id(20)])
    }

    @Test func orderHoldsAcrossCompaction() {
        var q = TreePrefetchQueue()
        q.add((0..<3000).map(Self.id), urgent: false)
        for i in 0..<1500 { #expect(q.pop()?.id == Self.id(i)) }
        q.add((3000..<3010).map(Self.id), urgent: false)
        #expect(q.backgroundCount == 1510)
        for i in 1500..<3010 { #expect(q.pop()?.id == Self.id(i)) }
        #expect(q.pop() == nil)
    }

    /// Listing the root loads its subdirectories' trees and, behind them, theirs.
    @Test func listingTheRootLoadsTwoLevelsBelowIt() throws {
        let source = MemorySource()
        var dirs: [Tree.Entry] = []
        var grandchildren: [ObjectID] = []
        for d in 0..<5 {
            var subs: [Tree.Entry] = []
            for s in 0..<4 {
                let leaf = try source.directory(FileName("s\(s)"), [source.file("f", pattern(10 + d * 4 + s))])
                grandchildren.append(leaf.id!)
                subs.append(leaf)
            }
            dirs.append(try source.directory(FileName("d\(d)"), subs))
        }
        let fs = try Filesystem(source: source, root: .commit(try source.commit(dirs)), options: Filesystem.Options())
        defer { fs.shutdown() }
        fs.prefetchSubtrees(of: try #require(fs.inodes.node(InodeTable.rootIno)))
        let want = Set(dirs.compactMap(\.id) + grandchildren)
        let deadline = Date().addingTimeInterval(10)
        var cached = Set<ObjectID>()
        while Date() < deadline {
            cached = fs.trees.withLock { Set($0.byID.keys) }
            if want.isSubset(of: cached) { break }
            usleep(5000)
        }
        #expect(want.isSubset(of: cached), "\(want.subtracting(cached).count) of \(want.count) trees not loaded")
    }
}
