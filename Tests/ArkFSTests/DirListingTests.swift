import Foundation
import Testing

@testable import ArkCore
@testable import ArkFS

/// readdir and readdirplus listings without a kernel: what each position holds, and the
/// lookup references readdirplus entries take (and `forget` gives back).
@Suite struct DirListingTests {
    let source = MemorySource()
    let fs: Filesystem
    let subTree: ObjectID

    init() throws {
        let sub = try source.directory("src", [source.file("main.c", pattern(10)), try source.directory("inner", [])])
        subTree = sub.id!
        let commit = try source.commit([
            source.file("README", pattern(1000)), sub, .symlink("link", target: "src/main.c"),
            source.file("run", pattern(3), executable: true)
        ])
        fs = try Filesystem(source: source, root: .commit(commit), options: Filesystem.Options())
    }

    func rootListing() throws -> DirListing {
        try DirListing(fs: fs, ino: InodeTable.rootIno, node: try #require(fs.inodes.node(InodeTable.rootIno)))
    }

    @Test func positionsAreDotDotDotThenTheTreeInOrder() throws {
        let l = try rootListing()
        #expect(l.count == 6)
        #expect((0..<l.count).map { l.name(at: $0) } == [".", "..", "README", "link", "run", "src"])
        #expect((0..<l.count).map { l.type(at: $0) } == [S_IFDIR, S_IFDIR, S_IFREG, S_IFLNK, S_IFREG, S_IFDIR])
        #expect(l.node(at: 0, fs: fs) == nil && l.node(at: 1, fs: fs) == nil)
        #expect(l.node(at: 5, fs: fs) == (try fs.child(of: try #require(fs.inodes.node(1)), named: "src", parentIno: 1)))
    }

    /// Each entry is what a lookup of its name gives: the same inode and attributes.
    @Test func plusEntriesCarryWhatALookupWouldGive() throws {
        let l = try rootListing()
        #expect(fs.plusEntry(l, at: 0) == nil && fs.plusEntry(l, at: 1) == nil)  // "." and ".." take no lookup
        for i in 2..<l.count {
            let e = try #require(fs.plusEntry(l, at: i))
            let name = l.name(at: i).description
            let (ino, node) = try #require(try fs.lookup(name))
            #expect(e.ino == ino, "\(name)")
            let a = fs.attributes(of: node, ino: ino)
            #expect(e.attr.st_ino == a.st_ino && e.attr.st_mode == a.st_mode && e.attr.st_size == a.st_size, "\(name)")
            #expect(e.attr.st_nlink == a.st_nlink && e.attr.st_mtim.tv_sec == a.st_mtim.tv_sec, "\(name)")
            #expect(e.timeout == Filesystem.Options().immutableTimeout)
        }
        let src = try #require(fs.plusEntry(l, at: 5))
        #expect(src.attr.st_nlink == 1 && src.attr.st_mode == S_IFDIR | 0o555)
    }

    /// The kernel counts every readdirplus entry as a lookup and forgets it as one: the inode
    /// table must keep the node until the last of them (and lookups) is forgotten.
    @Test func everyPlusEntryIsOneLookupReference() throws {
        let l = try rootListing()
        let first = try #require(fs.plusEntry(l, at: 2))
        _ = try #require(fs.plusEntry(l, at: 2))  // listed again (a second readdir)
        let (ino, _) = try #require(try fs.lookup("README"))
        #expect(ino == first.ino)
        fs.inodes.forget(ino, 2)
        #expect(fs.inodes.node(ino) != nil)
        fs.inodes.forget(ino, 1)
        #expect(fs.inodes.node(ino) == nil)
        // Listed, then forgotten at once (a reply that was not delivered): gone again.
        let again = try #require(fs.plusEntry(l, at: 2))
        #expect(again.ino == ino && fs.inodes.node(ino) != nil)
        fs.inodes.forget(again.ino, 1)
        #expect(fs.inodes.node(ino) == nil)
    }

    /// A subdirectory's entry comes from its parent's tree alone: one whose own tree cannot be
    /// read is still listed with its attributes (its parent's reply reads nothing more, so no
    /// reply waits for a subdirectory's tree); listing it is where the error comes.
    @Test func aSubdirectorysEntryNeedsNotItsTree() throws {
        let broken = TreeLess(base: source, missing: subTree)
        let commit = try #require(source.commits.keys.first)
        let fs = try Filesystem(source: broken, root: .commit(commit), options: Filesystem.Options())
        let l = try DirListing(fs: fs, ino: InodeTable.rootIno, node: try #require(fs.inodes.node(InodeTable.rootIno)))
        #expect(l.name(at: 5) == "src" && l.type(at: 5) == S_IFDIR)
        let src = try #require(fs.plusEntry(l, at: 5))
        #expect(src.attr.st_mode == S_IFDIR | 0o555 && src.attr.st_nlink == 1)
        let node = try #require(fs.inodes.node(src.ino))
        #expect(throws: ArkError.self) { try DirListing(fs: fs, ino: src.ino, node: node) }
        // And with the tree there to be read, the entry does not read it.
        let intact = try Filesystem(source: source, root: .commit(commit), options: Filesystem.Options())
        defer { intact.shutdown() }
        let root = try DirListing(fs: intact, ino: InodeTable.rootIno, node: try #require(intact.inodes.node(InodeTable.rootIno)))
        #expect(intact.plusEntry(root, at: 5)?.attr.st_nlink == 1)
        #expect(intact.trees.withLock { $0.byID[subTree] } == nil, "the subdirectory's tree was read for its entry")
    }

    @Test func theBrowsersDirectoriesAreListedWithShortTimeouts() throws {
        let fs = try Filesystem(source: MemorySource(), root: .history, options: Filesystem.Options())
        let l = try DirListing(fs: fs, ino: InodeTable.rootIno, node: .virtual(.root))
        #expect((2..<l.count).map { l.name(at: $0) } == ["changes", "commits", "repos"])
        for i in 2..<l.count {
            let e = try #require(fs.plusEntry(l, at: i))
            #expect(e.timeout == Filesystem.Options().mutableTimeout && e.attr.st_mode == S_IFDIR | 0o555)
            #expect(fs.inodes.node(e.ino) == l.node(at: i, fs: fs))
        }
    }
}
