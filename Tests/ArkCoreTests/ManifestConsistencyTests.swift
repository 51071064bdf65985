import Testing

@testable import ArkCore

/// A multi-level manifest whose parent entry disagrees with its child (wrong length or level)
/// hashes fine, so only structural checks catch it; readers and verify must agree it is bad.
@Suite struct ManifestConsistencyTests {
    enum Flaw: String, CaseIterable, Sendable { case length, level }

    @Test(arguments: Flaw.allCases)
    func mismatchedChildIsCorrupt(_ flaw: Flaw) throws {
        let store = try TestStore()
        let (commit, manifest): (ObjectID, ObjectID) = try {
            let session = try WriteSession(store.repo)
            var rng = SeededRandom(seed: 3)
            let chunk = rng.bytes(100)
            let chunkID = try session.put(.chunk, chunk)
            let child = Manifest(level: 0, entries: [.init(id: chunkID, length: 100)])
            let childID = try session.put(.manifest, child.bytes)
            let parent =
                flaw == .length
                ? Manifest(level: 1, entries: [.init(id: childID, length: 150)])
                : Manifest(level: 2, entries: [.init(id: childID, length: 100)])
            let parentID = try session.put(.manifest, parent.bytes)
            let tree = try session.put(.tree, try Tree(entries: [.file("f", manifest: parentID, size: parent.totalSize)]).encoded())
            return (try store.commit(tree: tree, session: session), parentID)
        }()
        let reader = try FileReader(repo: store.repo, manifest: manifest)
        #expect(throws: ArkError.self) { try reader.stream { _ in } }
        let located = #expect(throws: ArkError.self) { _ = try reader.locate(10) }
        #expect(located?.code == .corrupt)
        let report = try store.repo.verify(roots: [commit], allObjects: true)
        #expect(!report.ok, "verify passed a manifest its readers reject")
        #expect(report.corruptCount == 1)
    }
}
