import Foundation
import Testing

@testable import ArkCore

/// Directories are listed ahead of the walk on threads of their own, out of the walk's order
/// (a listing submits its own subdirectories). A re-commit still sees every change the stat
/// cache key covers in those directories, and gives the tree a commit without a stat cache
/// gives.
@Suite struct SnapshotLookaheadTests {
    static let (tops, subs, filesPerDir) = (12, 5, 8)
    static let old = timespec(tv_sec: 1_600_000_000, tv_nsec: 0)

    static func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var times = [old, old]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    static func makeTree(_ root: String) throws {
        for t in 0..<tops {
            for s in 0..<subs {
                let dir = "\(root)/t\(t)/s\(s)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for f in 0..<filesPerDir { try write("\(dir)/f\(f)", "file \(t) \(s) \(f)\n") }
            }
        }
    }

    static func stat(_ path: String) -> stat {
        var st = Glibc.stat()
        #expect(lstat(path, &st) == 0)
        return st
    }

    /// The tree a commit without a stat cache makes of `root`.
    static func freshTree(_ root: String) throws -> ObjectID {
        let store = try TestStore()
        var snapshot = Snapshot(session: try WriteSession(store.repo), root: root)
        return try snapshot.run().tree
    }

    @Test(arguments: [Snapshot.entriesAheadLimit, 30])
    func changesInDirectoriesListedAheadAreSeen(limit: Int) throws {
        let store = try TestStore()
        let root = store.directory + "/src"
        try Self.makeTree(root)
        let files = Self.tops * Self.subs * Self.filesPerDir
        let session = try WriteSession(store.repo)
        var first = Snapshot(session: session, root: root)
        first.listedAhead = ListedAhead(limit: limit)
        let (tree, _) = try first.run()
        _ = try store.commit(tree: tree, session: session)
        #expect(first.listingsAhead.submitted > Self.tops, "listed ahead: \(first.listingsAhead)")
        #expect(first.listingsAhead.outstanding == 0 && first.listedAhead.value == 0)

        // Same size, same modification time, same inode: only the change time differs.
        usleep(20_000)
        let inPlace = "\(root)/t7/s3/f2"
        let before = Self.stat(inPlace)
        try Self.write(inPlace, "FILE 7 3 2\n")
        let after = Self.stat(inPlace)
        #expect(after.st_ino == before.st_ino && after.st_size == before.st_size)
        #expect(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec)
        #expect(after.st_ctim.tv_sec != before.st_ctim.tv_sec || after.st_ctim.tv_nsec != before.st_ctim.tv_nsec)
        // Same size and modification time, another inode (renamed over the old file).
        let replaced = "\(root)/t9/s1/f5"
        try Self.write(replaced + ".new", "FILE 9 1 5\n")
        #expect(rename(replaced + ".new", replaced) == 0)
        try FileManager.default.removeItem(atPath: "\(root)/t4/s4/f0")
        try Self.write("\(root)/t10/s2/g", "a new file\n")
        try FileManager.default.createDirectory(atPath: "\(root)/t11/s5", withIntermediateDirectories: true)
        try Self.write("\(root)/t11/s5/h", "a new file in a new directory\n")

        let again = try WriteSession(store.repo)
        var second = Snapshot(session: again, root: root)
        second.listedAhead = ListedAhead(limit: limit)
        var last = Snapshot.Progress()
        second.onProgress = { last = $0 }
        let (tree2, _) = try second.run()
        _ = try store.commit(tree: tree2, session: again)
        #expect(tree2 != tree)
        #expect(tree2 == (try Self.freshTree(root)))
        #expect(last.filesTotal == files + 1)
        #expect(last.filesReused == files - 3, "two changed, one deleted, two new")
        #expect(second.listingsAhead.outstanding == 0 && second.listedAhead.value == 0)

        // Nothing changed since: every file from the stat cache, the same tree.
        let unchanged = try WriteSession(store.repo)
        var third = Snapshot(session: unchanged, root: root)
        third.onProgress = { last = $0 }
        #expect(try third.run().tree == tree2)
        #expect(last.filesReused == files + 1)
        #expect(unchanged.newObjects == 0)
    }
}
