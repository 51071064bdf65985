import Foundation
import Glibc
import Testing

/// Names in a store that someone else could plant before `ark` runs: a symlink at any name
/// `ark` used to create or open predictably (lock files, `<file>.tmp.<pid>`) pointing at a
/// victim file. Whatever `ark` does, the victim is never written; it either works or stops
/// with one line.
@Suite struct StoreFileTests {
    static let victimBytes = Array("precious, not to be overwritten\n".utf8)

    /// Symlinks to `victim` at every formerly predictable name in `store`, the pid-named ones
    /// for the next `pids` process ids.
    static func plant(in store: String, victim: String, locks: Bool, sqlite: Bool, pids: Int = 400) throws {
        let last =
            Int(
                (try? String(contentsOfFile: "/proc/sys/kernel/ns_last_pid", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        var names = ["endpoint_id"]
        if locks { names += ["setup.lock", "lock"] }
        if sqlite { names += ["index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal"] }
        for pid in (last + 1)...(last + pids) { names += ["endpoint_id.tmp.\(pid)", "node.key.tmp.\(pid)"] }
        for name in names {
            let path = store + "/" + name
            unlink(path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        }
    }

    static func check(_ r: ArkProcess.Result, _ what: String, victim: String) throws {
        #expect(r.ok || (r.stderr.hasPrefix("ark: ") && r.stderr.split(separator: "\n").count == 1), "\(what): \(r.stderr)")
        let now = Array(try Data(contentsOf: URL(fileURLWithPath: victim)))
        #expect(now == victimBytes, "\(what) wrote through a planted symlink")
    }

    @Test func plantedSymlinksNeverRedirectWrites() throws {
        let ws = Workspace()
        let victim = ws.path + "/victim.txt"
        try ws.write("victim.txt", Self.victimBytes)
        try ws.mkdir("data")
        try ws.write("src/a.txt", Array("a\n".utf8))

        // Lock files that are symlinks: refused with one line, naming the lock file.
        try Self.plant(in: ws.store, victim: victim, locks: true, sqlite: true)
        let refused = try ws.ark("id")
        try Self.check(refused, "ark id", victim: victim)
        #expect(!refused.ok && refused.stderr.contains("setup.lock") && refused.stderr.contains("symbolic link"), "\(refused.stderr)")

        // Without them: a new store is set up (key, endpoint_id, index) beside the pid-named ones.
        for name in ["index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal", "setup.lock", "lock"] { unlink(ws.store + "/" + name) }
        try Self.plant(in: ws.store, victim: victim, locks: false, sqlite: false)
        let id = try ws.ark("id")
        try Self.check(id, "ark id", victim: victim)
        #expect(id.ok && id.stdout.count == 65, "\(id.stderr)")
        #expect(try ws.read("data/endpoint_id") == Array(id.stdout.utf8))
        let commit = try ws.ark("commit", "src", "--repo", "proj")
        try Self.check(commit, "ark commit", victim: victim)
        #expect(commit.ok, "\(commit.stderr)")

        // SQLite's own files planted as symlinks: the index is not opened through them.
        try Self.plant(in: ws.store, victim: victim, locks: false, sqlite: true)
        try ws.write("src/c.txt", Array("c\n".utf8))
        let viaSQLite = try ws.ark("commit", "src", "--repo", "proj")
        try Self.check(viaSQLite, "ark commit", victim: victim)
        #expect(!viaSQLite.ok && viaSQLite.stderr.contains("symbolic link"), "\(viaSQLite.stderr)")

        // The writers' lock planted once the store exists: commit refuses it.
        for name in ["index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal", "setup.lock", "lock"] { unlink(ws.store + "/" + name) }
        try FileManager.default.createSymbolicLink(atPath: ws.store + "/lock", withDestinationPath: victim)
        try ws.write("src/b.txt", Array("b\n".utf8))
        let locked = try ws.ark("commit", "src", "--repo", "proj")
        try Self.check(locked, "ark commit", victim: victim)
        #expect(!locked.ok && locked.stderr.contains("lock") && locked.stderr.contains("symbolic link"), "\(locked.stderr)")
        unlink(ws.store + "/lock")
        try Self.check(try ws.ark("commit", "src", "--repo", "proj"), "ark commit", victim: victim)
        #expect(try ws.ok("cat", "proj:b.txt") == "b")
    }

    /// The index itself planted as a symlink before the store exists: SQLite would make the
    /// target (here an empty file, which it would happily turn into a database) the index.
    @Test func aPlantedIndexIsRefused() throws {
        let ws = Workspace()
        try ws.write("empty", [])
        try ws.mkdir("data")
        try ws.symlink("data/index.sqlite", to: ws.path + "/empty")
        let r = try ws.ark("id")
        #expect(r.status == 1 && r.stderr.hasPrefix("ark: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("index") && r.stderr.contains("symbolic link"), "\(r.stderr)")
        #expect(try ws.read("empty").isEmpty)
    }
}
