import Testing
@testable import ArkCore

@Suite struct DiffTests {
    static func changes(_ store: TestStore, _ a: [Tree.Entry], _ b: [Tree.Entry]) throws -> [String] {
        let session = try WriteSession(store.repo)
        let ta = try session.put(.tree, try Tree(entries: a).encoded())
        let tb = try session.put(.tree, try Tree(entries: b).encoded())
        try session.checkpoint()
        var out: [String] = []
        try store.repo.diff(ta, tb) { out.append("\($0.status.rawValue) \($0.path)") }
        return out
    }

    @Test func symlinkTargetSpelledDifferentlyIsAChange() throws {
        let store = try TestStore()
        // Two orders of the same combining marks: canonically equivalent Strings of equal
        // length, but different bytes, so different targets on disk.
        let t1 = "a\u{301}\u{316}", t2 = "a\u{316}\u{301}"
        #expect(t1 == t2 && t1.utf8.count == t2.utf8.count)
        #expect(try Self.changes(store, [.symlink("l", target: t1)], [.symlink("l", target: t2)]) == ["M l"])
        #expect(try Self.changes(store, [.symlink("l", target: "x")], [.symlink("l", target: "x")]) == [])
    }

    @Test func kindsOfChange() throws {
        let store = try TestStore()
        let m1 = ObjectID(bytes: [UInt8](repeating: 1, count: 32)), m2 = ObjectID(bytes: [UInt8](repeating: 2, count: 32))
        let a: [Tree.Entry] = [.file("same", manifest: m1, size: 1), .file("mod", manifest: m1, size: 1), .file("gone", manifest: m1, size: 1),
                               .file("exec", manifest: m1, size: 1), .symlink("t", target: "same")]
        let b: [Tree.Entry] = [.file("same", manifest: m1, size: 1), .file("mod", manifest: m2, size: 1), .file("new", manifest: m1, size: 1),
                               .file("exec", manifest: m1, size: 1, executable: true), .file("t", manifest: m1, size: 1)]
        #expect(try Self.changes(store, a, b) == ["M exec", "D gone", "M mod", "A new", "T t"])
    }
}
