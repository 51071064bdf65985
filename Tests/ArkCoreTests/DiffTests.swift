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
        let a: [Tree.Entry] = [
            .file("same", manifest: m1, size: 1), .file("mod", manifest: m1, size: 1), .file("gone", manifest: m1, size: 1),
            .file("exec", manifest: m1, size: 1), .symlink("t", target: "same")
        ]
        let b: [Tree.Entry] = [
            .file("same", manifest: m1, size: 1), .file("mod", manifest: m2, size: 1), .file("new", manifest: m1, size: 1),
            .file("exec", manifest: m1, size: 1, executable: true), .file("t", manifest: m1, size: 1)
        ]
        // Same content made executable: only its permissions changed.
        #expect(try Self.changes(store, a, b) == ["P exec", "D gone", "M mod", "A new", "T t"])
    }

    static func stamped(_ e: Tree.Entry, mode: UInt16?, seconds: Int64) -> Tree.Entry {
        var e = e
        e.mode = mode; e.mtime = .init(seconds: seconds, nanoseconds: 5)
        return e
    }

    @Test func permissionOnlyChangeIsItsOwnKind() throws {
        let store = try TestStore()
        let m1 = ObjectID(bytes: [UInt8](repeating: 1, count: 32)), m2 = ObjectID(bytes: [UInt8](repeating: 2, count: 32))
        let dir = ObjectID(bytes: [UInt8](repeating: 3, count: 32))
        let a: [Tree.Entry] = [
            Self.stamped(.file("private", manifest: m1, size: 1), mode: 0o644, seconds: 10),
            Self.stamped(.file("touched", manifest: m1, size: 1), mode: 0o644, seconds: 10),
            Self.stamped(.file("both", manifest: m1, size: 1), mode: 0o644, seconds: 10),
            Self.stamped(.directory("d", tree: dir, size: 0), mode: 0o755, seconds: 10),
            Self.stamped(.file("\u{e9}", manifest: m1, size: 1), mode: 0o644, seconds: 10)
        ]
        let b: [Tree.Entry] = [
            Self.stamped(.file("private", manifest: m1, size: 1), mode: 0o600, seconds: 10),
            Self.stamped(.file("touched", manifest: m1, size: 1), mode: 0o644, seconds: 99),
            Self.stamped(.file("both", manifest: m2, size: 1), mode: 0o600, seconds: 10),
            Self.stamped(.directory("d", tree: dir, size: 0), mode: 0o1777, seconds: 10),
            Self.stamped(.file(FileName(bytes: [0xe9]), manifest: m1, size: 1), mode: 0o644, seconds: 10)
        ]
        // A new mtime alone is not a change; a Latin-1 name is another name than its UTF-8 spelling.
        #expect(try Self.changes(store, a, b) == ["M both", "P d/", "P private", "D \u{e9}", #"A "\351""#])
    }
}
