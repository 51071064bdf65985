import ArkCore
import Foundation
import Glibc
import Synchronization
import Testing

/// Eviction of the on-demand chunk cache runs beside writers: a commit that deduplicates
/// against cached chunks must end up with every chunk it names stored for good.
extension CacheLimitTests {
    /// The chunks (ids and bytes) `ark commit` makes of `data`, found by storing it in a
    /// scratch store with the same chunker.
    static func chunks(of data: [UInt8]) throws -> [(ObjectID, [UInt8])] {
        let scratch = TempDir("ark-chunks")
        let repo = try Repository(path: scratch.file("data"))
        let session = try WriteSession(repo)
        try scratch.write("f", Data(data))
        let fd = open(scratch.file("f"), O_RDONLY)
        defer { close(fd) }
        let stored = try session.putFile(fd: fd, path: scratch.file("f"))
        try session.checkpoint()
        let m = try repo.manifest(stored.manifest)
        try #require(m.level == 0)
        return try (0..<m.count).map { (m.id(at: $0), try repo.read(m.id(at: $0), kind: .chunk)) }
    }

    /// Every chunk reachable from every head, with whether the index has it stored.
    static func headChunks(_ repo: Repository) throws -> [ObjectID: Bool] {
        var out: [ObjectID: Bool] = [:]
        var commits = try repo.index.heads().map(\.commit)
        var seen = Set<ObjectID>()
        var trees: [ObjectID] = [], manifests: [ObjectID] = []
        while let c = commits.popLast() {
            guard seen.insert(c).inserted else { continue }
            let commit = try repo.commit(c)
            trees.append(commit.tree)
            commits += commit.parents
        }
        while let t = trees.popLast() {
            for e in try repo.tree(t).entries {
                if e.kind == .directory { trees.append(e.id!) } else if e.kind == .file || e.kind == .executable { manifests.append(e.id!) }
            }
        }
        while let id = manifests.popLast() {
            let m = try repo.manifest(id)
            for i in 0..<m.count {
                if m.level > 0 {
                    manifests.append(m.id(at: i))
                } else {
                    out[m.id(at: i)] = try repo.index.object(m.id(at: i))?.isPresent == true
                }
            }
        }
        return out
    }

    /// While `ark commit` stores a file whose chunks are in the cache, this process keeps
    /// filling the cache with them and evicting it far below its limit (as a mount's fetches
    /// would). Afterwards every chunk a head names is stored, and stays stored when the cache
    /// is evicted to nothing.
    @Test func evictionBesideACommitNeverDropsItsChunks() throws {
        let ws = Workspace()
        try ws.write("src/seed.txt", Array("seed\n".utf8))
        _ = try ws.ok("commit", "src", "--repo", "proj")
        let repo = try Repository(path: ws.store)
        var rng = SeededRandom(seed: 93)
        for iteration in 1...12 {
            let data = rng.bytes(16 << 20)
            let chunks = try Self.chunks(of: data)
            for (id, bytes) in chunks { _ = try WriteSession(repo).putCachedChunk(id, bytes) }
            try ws.write("src/data.bin", data)
            try ws.write("src/n.txt", Array("\(iteration)\n".utf8))
            let stop = Atomic<Bool>(false)
            let failures = Mutex<[String]>([])
            let done = DispatchSemaphore(value: 0)
            let racer = Thread {
                defer { done.signal() }
                while !stop.load(ordering: .relaxed) {
                    do {
                        try repo.evictCache(downTo: Int64.random(in: 0...(4 << 20)))
                        for (id, bytes) in chunks.shuffled() where try repo.index.object(id)?.isPresent != true {
                            _ = try WriteSession(repo).putCachedChunk(id, bytes)
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
            racer.start()
            let commit = try ws.ark("commit", "src", "--repo", "proj")
            stop.store(true, ordering: .relaxed)
            done.wait()
            #expect(commit.ok, "iteration \(iteration): \(commit.stderr)")
            #expect(failures.withLock { $0 }.isEmpty, "iteration \(iteration): \(failures.withLock { $0 })")
            try repo.evictCache(downTo: 0)
            let present = try Self.headChunks(repo)
            let absent = present.filter { !$0.value }.map(\.key.short)
            #expect(absent.isEmpty, "iteration \(iteration): chunks a head names were evicted: \(absent)")
            try #require(absent.isEmpty)
        }
        let verify = try ws.ark("verify")
        #expect(verify.ok, "\(verify.stdout)\(verify.stderr)")
    }
}
