import Foundation
import Testing

@testable import ArkCore
@testable import ArkFS

/// Lookup, listing and attributes of a commit's tree, without a kernel.
@Suite struct FilesystemLookupTests {
    let source = MemorySource()
    let fs: Filesystem
    let readme = pattern(1000)

    init() throws {
        let sub = try source.directory("src", [source.file("main.c", pattern(10)), source.file("b.sh", pattern(3), executable: true)])
        let empty = try source.directory("empty", [])
        let commit = try source.commit([source.file("README", readme), sub, empty, .symlink("link", target: "src/main.c")])
        fs = try Filesystem(source: source, root: .commit(commit), options: Filesystem.Options())
    }

    @Test func lookupFindsEveryKindAndMissesCleanly() throws {
        #expect(try fs.lookup("README") != nil)
        #expect(try fs.lookup("src/main.c") != nil)
        #expect(try fs.lookup("src/nope") == nil)
        #expect(try fs.lookup("README/x") == nil)  // below a file
        #expect(try fs.lookup("link/x") == nil)  // below a symlink
        guard case .entry(let e)? = try fs.lookup("link")?.node else { Issue.record("link"); return }
        #expect(e.kind == .symlink && e.target == Array("src/main.c".utf8))
    }

    @Test func theHistoryBrowserHidesUnderDotArkAtTheRootOnly() throws {
        #expect(try fs.lookup(".ark")?.node == .virtual(.root))
        #expect(try fs.lookup("src/.ark") == nil)
    }

    @Test func childrenAreListedInTreeOrder() throws {
        let root = try #require(fs.inodes.node(InodeTable.rootIno))
        #expect(try fs.children(of: root).map(\.0) == ["README", "empty", "link", "src"])
        let src = try fs.node(at: "src")
        #expect(try fs.children(of: src).map(\.0) == ["b.sh", "main.c"])
        #expect(try fs.children(of: try fs.node(at: "README")).isEmpty)
    }

    /// v2 entries: stored permission bits and mtimes are shown as stored, names are bytes.
    @Test func storedModesTimesAndByteNamesAreShown() throws {
        let src = MemorySource()
        let latin = FileName(bytes: [0x63, 0x61, 0x66, 0xe9])
        var f = try src.file("x", pattern(5))
        f.name = latin; f.mode = 0o600; f.mtime = .init(seconds: 4_102_444_800, nanoseconds: 123_456_789)
        var d = try src.directory("tmp", [])
        d.mode = 0o1777; d.mtime = .init(seconds: 1, nanoseconds: 5)
        var l = Tree.Entry.symlink("l", target: "x")
        l.mtime = .init(seconds: 7, nanoseconds: 9)
        let fs = try Filesystem(
            source: src, root: .commit(try src.commit([f, d, l, try src.file("plain", pattern(2))])), options: Filesystem.Options())
        let root = try #require(fs.inodes.node(InodeTable.rootIno))
        #expect(try fs.children(of: root).map(\.0) == [latin, "l", "plain", "tmp"])
        func attrs(_ name: FileName) throws -> stat {
            let node = try #require(try fs.child(of: root, named: name, parentIno: InodeTable.rootIno))
            return fs.attributes(of: node, ino: fs.inodes.remember(parent: InodeTable.rootIno, name: name, node: node))
        }
        let a = try attrs(latin)
        #expect(a.st_mode == S_IFREG | 0o600 && a.st_mtim.tv_sec == 4_102_444_800 && a.st_mtim.tv_nsec == 123_456_789)
        #expect(try fs.child(of: root, named: "caf\u{e9}", parentIno: InodeTable.rootIno) == nil)  // the UTF-8 spelling is another name
        let t = try attrs("tmp")
        #expect(t.st_mode == S_IFDIR | 0o1777 && t.st_mtim.tv_sec == 1 && t.st_mtim.tv_nsec == 5)
        let s = try attrs("l")
        #expect(s.st_mode == S_IFLNK | 0o777 && s.st_mtim.tv_sec == 7 && s.st_mtim.tv_nsec == 9)
        let p = try attrs("plain")
        #expect(p.st_mode == S_IFREG | 0o444 && p.st_mtim.tv_sec == 1_700_000_000 && p.st_mtim.tv_nsec == 0)
    }

    @Test func attributesGiveModeSizeLinksAndTime() throws {
        func stat(_ path: String) throws -> stat {
            let (ino, node) = try #require(try fs.lookup(path))
            return fs.attributes(of: node, ino: ino)
        }
        let file = try stat("README")
        #expect(file.st_mode == S_IFREG | 0o444 && file.st_size == 1000 && file.st_nlink == 1)
        #expect(file.st_blocks == 2 && file.st_mtim.tv_sec == 1_700_000_000)
        #expect(try stat("src/b.sh").st_mode == S_IFREG | 0o555)
        let link = try stat("link")
        #expect(link.st_mode == S_IFLNK | 0o777 && link.st_size == 10)
        let root = fs.attributes(of: try #require(fs.inodes.node(InodeTable.rootIno)), ino: InodeTable.rootIno)
        // Directories report nlink 1 (as btrfs does): counting subdirectories would need each
        // one's tree before its parent's listing could be answered.
        #expect(root.st_mode == S_IFDIR | 0o555 && root.st_nlink == 1)
        #expect(try stat("empty").st_nlink == 1 && stat("src").st_nlink == 1)
    }

    @Test func aMissingRootTreeFailsAtMountTime() throws {
        let other = MemorySource()
        let commit = try other.commit([])
        let rootTree = try #require(try other.commitSummary(commit)).tree
        #expect(throws: ArkError.self) {
            try Filesystem(source: TreeLess(base: other, missing: rootTree), root: .commit(commit), options: Filesystem.Options())
        }
        #expect(throws: ArkError.self) {
            try Filesystem(source: other, root: .commit(ObjectID(bytes: [UInt8](repeating: 1, count: 32))), options: Filesystem.Options())
        }
    }
}

/// A source that has lost one tree.
struct TreeLess: ObjectSource {
    let base: MemorySource
    let missing: ObjectID
    func tree(_ id: ObjectID) throws -> Tree {
        if id == missing { throw ArkError(.missing, "tree \(id) is not stored") }
        return try base.tree(id)
    }
    func manifest(_ id: ObjectID) throws -> Manifest { try base.manifest(id) }
    func chunk(_ id: ObjectID) throws -> [UInt8] { try base.chunk(id) }
    func isPresent(_ id: ObjectID) throws -> Bool { try base.isPresent(id) }
    func commitSummary(_ id: ObjectID) throws -> CommitSummary? { try base.commitSummary(id) }
    func heads(repo: String?) throws -> [Head] { [] }
    func history(from heads: [ObjectID], limit: Int?) throws -> [CommitSummary] { [] }
    func commits(withPrefix prefix: String, limit: Int) throws -> [ObjectID] { [] }
    func commits(changeID: String) throws -> [ObjectID] { [] }
    var localNode: ObjectID { base.node }
    func peerName(_ node: ObjectID) -> String? { nil }
}

/// The history browser's `repos/`: repos with heads, and those declared in ark.toml with none yet.
@Suite struct HistoryBrowserTests {
    @Test func aDeclaredRepoWithoutHeadsIsListedEmpty() throws {
        var options = Filesystem.Options()
        options.declaredRepos = ["photos", "notes"]
        let fs = try Filesystem(source: MemorySource(), root: .history, options: options)
        let repos = try fs.node(at: "repos")
        #expect(try fs.children(of: repos).map(\.0) == ["notes", "photos"])
        let heads = try fs.node(at: "repos/notes/heads")
        #expect(try fs.children(of: heads).isEmpty)
        #expect(try fs.lookup("repos/unknown") == nil)
    }

    /// `versions/` lists names as bytes, as the tree does: a Latin-1 name is there, and so are
    /// the versions of a file under it, named by its bytes.
    @Test func versionsListsNamesThatAreNotUTF8() throws {
        let src = MemorySource()
        let latin1 = FileName(bytes: Array("caf".utf8) + [0xe9] + Array(".txt".utf8))
        let dir = FileName(bytes: [0x64, 0xff])
        let first = try src.commit([src.file(latin1, Array("one".utf8)), try src.directory(dir, [src.file("a", [1])])], time: 100)
        let second = try src.commit(
            [src.file(latin1, Array("two".utf8)), try src.directory(dir, [src.file("a", [1])])],
            time: 200, parents: [first])
        src.headList = [Head(ref: HeadRef(repo: "r", owner: src.node), commit: second, updated: 200)]
        let fs = try Filesystem(source: src, root: .history, options: Filesystem.Options())
        let versions = try fs.node(at: "repos/r/versions")
        #expect(Set(try fs.children(of: versions).map(\.0)) == [latin1, dir])
        guard case .virtual(let top) = versions, let fileNode = try fs.browserChild(of: top, named: latin1),
            case .virtual(let fileDir) = fileNode
        else { Issue.record("no versions/ entry for the Latin-1 name"); return }
        let names = try fs.children(of: .virtual(fileDir)).map(\.0)
        #expect(
            names == [
                FileName(bytes: Array("caf".utf8) + [0xe9] + Array(".1.txt".utf8)),
                FileName(bytes: Array("caf".utf8) + [0xe9] + Array(".2.txt".utf8))
            ])
        guard let dirNode = try fs.browserChild(of: top, named: dir), case .virtual(let d) = dirNode else {
            Issue.record("no versions/ entry for the non-UTF-8 directory"); return
        }
        #expect(try fs.children(of: .virtual(d)).map(\.0) == ["a"])
    }
}
