import Foundation
import Testing

/// A pull of a commit with far more objects than the receiving daemon keeps in memory
/// (`ARK_ID_SET_MEMORY` set low): the walk's levels, the ids walked, the chunk ids found and
/// the replication queue all move to temporary SQLite files, and every object still arrives.
@Suite(.serialized)
struct SyncLargeCommitTests {
    static let directories = 24
    static let filesPerDirectory = 15
    /// Ids an `ObjectIDSet` of the pulling daemon keeps in memory: the commit has ~750 objects.
    static let memoryLimit = "16"

    @Test(arguments: ["full", "lazy"])
    func pullOfACommitLargerThanTheMemoryLimit(fetch: String) throws {
        let a = try SyncNode(), b = try SyncNode()
        try a.configure(fetch: "full", remotes: [.init(name: "b", node: b)])
        try b.configure(fetch: fetch, remotes: [.init(name: "a", node: a)])
        for d in 0..<Self.directories {
            for f in 0..<Self.filesPerDirectory {
                try a.dir.write(
                    "src/d\(d)/s\(d % 3)/f\(f).txt", "file \(f) of directory \(d)\n" + String(repeating: "\(d * 100 + f) ", count: f + 1))
            }
        }
        // Two files with the same bytes: one manifest and one chunk named twice.
        try a.dir.write("src/same1.txt", "same bytes\n")
        try a.dir.write("src/same2.txt", "same bytes\n")
        let commit = try a.ark("commit", "src", "--repo", "proj", "-m", "many files")
        try #require(commit.ok, "\(commit.stderr)")
        let source = try a.verify()
        try #require(source.complete)
        let files = Self.directories * Self.filesPerDirectory + 1
        #expect(source.manifests == files)
        #expect(source.chunks == files)

        try a.start()
        defer { a.stop() }
        try b.start(logLevel: "debug", env: ["ARK_ID_SET_MEMORY": Self.memoryLimit])
        defer { b.stop() }
        try SyncNode.converge("pull of \(files) files, \(fetch)", [a, b], within: 60) {
            let v = try b.verify()
            return v.ok && v.commits == 1 && (fetch == "lazy" || v.absentChunks == 0)
        }
        let v = try b.verify()
        #expect(v.trees == source.trees)
        #expect(v.manifests == source.manifests)
        #expect(v.chunks + v.absentChunks == source.chunks)
        #expect(v.absentChunks == (fetch == "full" ? 0 : source.chunks))
        let listing = try b.ark("ls", "-r", "proj@a")
        #expect(listing.ok)
        #expect(listing.stdout == (try a.ark("ls", "-r", "proj")).stdout)
        if fetch == "full" {
            #expect(try b.ark("cat", "proj@a:d23/s2/f14.txt").stdout == "file 14 of directory 23\n" + String(repeating: "2314 ", count: 15))
        }
        #expect(b.log.contains("pulled 1 commits of proj"))
    }
}
