import Foundation
import Testing

@testable import ArkCore

/// A commit walks the tree depth first and streams: it holds the entries of the directories on
/// its current path only, publishes index rows in bounded batches as it goes, and finds the
/// stat cache rows of each directory it enters.
@Suite struct SnapshotStreamingTests {
    static let (tops, subs, filesPerDir) = (30, 4, 25)
    /// Entries listed ahead of the walk at most in `walkHoldsOnlyItsPathAndPublishesInBatches`.
    static let aheadLimit = 200

    /// tops x subs directories of filesPerDir small files, with old modification times (so
    /// the stat cache keeps them).
    static func makeTree(_ store: TestStore) throws -> String {
        let root = store.directory + "/src"
        for t in 0..<tops {
            for s in 0..<subs {
                let dir = "\(root)/t\(t)/s\(s)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for f in 0..<filesPerDir {
                    let path = "\(dir)/f\(f)"
                    try Data("file \(t) \(s) \(f)\n".utf8).write(to: URL(fileURLWithPath: path))
                    var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
                    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
                }
            }
        }
        return root
    }

    /// Listings read ahead stay within their entry limit (a listing past it is dropped and the
    /// walk lists that directory itself), and the tree is the same.
    @Test func listingsReadAheadStayWithinTheirLimit() throws {
        let store = try TestStore()
        let root = try Self.makeTree(store)
        var unlimited = Snapshot(session: try WriteSession(store.repo), root: root)
        let (expected, _) = try unlimited.run()
        var limited = Snapshot(session: try WriteSession(store.repo), root: root)
        limited.listedAhead = ListedAhead(limit: 30)
        let (tree, _) = try limited.run()
        #expect(tree == expected)
        #expect(limited.peakEntriesHeld <= Self.tops + Self.subs + Self.filesPerDir + 30, "held \(limited.peakEntriesHeld) entries")
    }

    @Test func walkHoldsOnlyItsPathAndPublishesInBatches() throws {
        let store = try TestStore()
        let root = try Self.makeTree(store)
        let files = Self.tops * Self.subs * Self.filesPerDir

        let session = try WriteSession(store.repo)
        session.checkpointObjects = 256
        var snapshot = Snapshot(session: session, root: root)
        snapshot.listedAhead = ListedAhead(limit: Self.aheadLimit)
        let (tree, size) = try snapshot.run()
        // The root's, one top directory's and one leaf directory's entries at most, plus the
        // listings read ahead (listings submit their own subdirectories, so the lookahead is
        // bounded by its entry limit, not by the tree's shape).
        let path = Self.tops + Self.subs + Self.filesPerDir
        #expect(snapshot.peakEntriesHeld <= path + Self.aheadLimit, "held \(snapshot.peakEntriesHeld) entries")
        #expect(snapshot.peakEntriesHeld < files / 10, "far from the tree's \(files) files")
        #expect(snapshot.peakEntriesHeld >= Self.filesPerDir)
        // Each file is a chunk and a manifest; all but the last batch are in the index before
        // the commit publishes.
        let published = try store.repo.index.objectCount().present
        #expect(published >= 2 * files - 256 - 200, "\(published) objects published during the walk")
        let commit = try store.commit(tree: tree, session: session)
        #expect(try store.repo.verify(roots: [commit], allObjects: true).ok)

        // Stat cache rows are found per directory: only the files directly in it.
        #expect(try store.repo.index.statCache(in: Array(root.utf8)).isEmpty)
        #expect(try store.repo.index.statCache(in: Array((root + "/t0").utf8)).isEmpty)
        #expect(try store.repo.index.statCache(in: Array((root + "/t0/s1").utf8)).count == Self.filesPerDir)

        // An unchanged tree: every file from the stat cache, the same tree id, nothing stored.
        let again = try WriteSession(store.repo)
        var second = Snapshot(session: again, root: root)
        var last = Snapshot.Progress()
        second.onProgress = { last = $0 }
        let (tree2, size2) = try second.run()
        #expect(tree2 == tree && size2 == size)
        #expect(last.filesReused == files && last.filesTotal == files && last.bytesTotal == 0)
        #expect(again.newObjects == 0)
    }
}
