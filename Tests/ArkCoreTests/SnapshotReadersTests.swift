import Foundation
import Testing

@testable import ArkCore

/// Small files are read, hashed and compressed on reader threads ahead of the walk, which
/// appends only what is new: every object is written once however often files repeat it, even
/// when the session publishes (and forgets what it wrote) between a reader's index question
/// and the walk's append.
@Suite struct SnapshotReadersTests {
    static func makeTree(_ root: String) throws {
        for d in 0..<6 {
            let dir = "\(root)/d\(d)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for f in 0..<120 {
                // 10 distinct contents, repeated across files and directories.
                try Data("content \((d * 120 + f) % 10)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/f\(f)"))
            }
        }
        // Empty, larger than a reader takes (1 MiB) and just below it.
        try Data().write(to: URL(fileURLWithPath: "\(root)/d0/empty"))
        var rng = SystemRandomNumberGenerator()
        try Data((0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: "\(root)/d1/big"))
        try Data((0..<((1 << 20) - 7)).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(
            to: URL(fileURLWithPath: "\(root)/d2/medium"))
    }

    @Test func everyObjectOnceAndTheSameTreeFromACopy() throws {
        let store = try TestStore()
        let root = store.directory + "/src"
        try Self.makeTree(root)

        let session = try WriteSession(store.repo)
        // Publishes every few objects: readers' answers are often older than the last publish.
        session.checkpointObjects = 5
        var snapshot = Snapshot(session: session, root: root)
        let (tree, _) = try snapshot.run()
        let commit = try store.commit(tree: tree, session: session)
        #expect(snapshot.skipped.isEmpty)
        // Objects written == objects stored (a duplicate write would count twice).
        #expect(session.newObjects == (try store.repo.index.objectCount().present))
        #expect(try store.repo.verify(roots: [commit], allObjects: true).ok)

        // A copy elsewhere (no stat cache rows): the readers find every chunk and manifest in
        // the index, so only the 7 trees are new (the copy's modification times differ).
        let copy = store.directory + "/copy"
        try Self.makeTree(copy)
        try FileManager.default.removeItem(atPath: copy + "/d1/big")
        try FileManager.default.removeItem(atPath: copy + "/d2/medium")
        try FileManager.default.copyItem(atPath: root + "/d1/big", toPath: copy + "/d1/big")
        try FileManager.default.copyItem(atPath: root + "/d2/medium", toPath: copy + "/d2/medium")
        let before = try store.repo.index.objectCount().present
        let again = try WriteSession(store.repo)
        var second = Snapshot(session: again, root: copy)
        let (tree2, _) = try second.run()
        let commit2 = try store.commit(tree: tree2, session: again)
        #expect(again.newObjects == 8, "7 trees and the commit")
        #expect(try store.repo.index.objectCount().present == before + 8)
        #expect(try store.repo.verify(roots: [commit2], allObjects: true).ok)
    }

    @Test func unreadableFileIsSkippedAndTheRestStored() throws {
        let store = try TestStore()
        let root = store.directory + "/src"
        try Self.makeTree(root)
        let locked = root + "/d3/f5"
        #expect(chmod(locked, 0) == 0)
        defer { chmod(locked, 0o644) }
        // root reads any file: then nothing is skipped, which is also right.
        let canRead = access(locked, R_OK) == 0
        let session = try WriteSession(store.repo)
        var snapshot = Snapshot(session: session, root: root)
        let (tree, _) = try snapshot.run()
        let commit = try store.commit(tree: tree, session: session)
        #expect(snapshot.skipped.map(\.path.description) == (canRead ? [] : [locked]))
        #expect(try store.repo.verify(roots: [commit], allObjects: true).ok)
    }
}
