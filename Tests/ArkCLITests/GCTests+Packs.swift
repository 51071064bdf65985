import ArkCore
import Foundation
import Glibc
import Testing

/// gc against running mounts and damaged packs.
extension GCTests {
    /// A mount keeps descriptors of the packs it read, by pack id. gc deletes a pack no head
    /// reaches and the next commit is stored in a new pack: reads through the running mount
    /// return that commit's bytes (and the mounted commit's), never EIO from a stale descriptor.
    @Test(.enabled(if: FuseSupport.shouldRun))
    func runningMountReadsRightBytesAfterGCAndANewCommit() throws {
        try FuseSupport.require()
        let f = MountFixture()
        var rng = SeededRandom(seed: 91)
        for i in 0..<4 { try f.dir.write("src/f\(i).bin", Data(rng.bytes(300_000 + i * 7_000))) }
        try f.dir.write("src/notes.txt", "notes\n")
        let c1 = try f.commit()
        // A commit no head reaches, in a pack of its own: garbage for gc.
        for i in 0..<4 { try f.dir.write("dead/d\(i).bin", Data(rng.bytes(250_000))) }
        let dead = try DirectWrites.commit(store: f.store, [(f.dir.file("dead"), nil)])[0]
        try f.withMount(c1) { mp in
            // The mount reads the garbage commit through its history: it opens that pack.
            for i in 0..<4 {
                let r = try sh("cmp '\(mp)/.ark/commits/\(dead)/d\(i).bin' '\(f.dir.file("dead/d\(i).bin"))'")
                try #require(r.status == 0, "before gc: \(r.out)\(r.err)")
            }
            let gc = try ArkProcess.run(["gc", "--json"], cwd: f.dir.path)
            try #require(gc.ok, "\(gc.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: gc.stdoutData) as? [String: Any])
            #expect(report["removed_commits"] as? Int == 1, "\(report)")
            // New data, committed after gc, in a new pack.
            for i in 0..<4 { try f.dir.write("src/n\(i).bin", Data(rng.bytes(280_000))) }
            let c2 = try f.commit()
            for name in (0..<4).map({ "f\($0).bin" }) + ["notes.txt"] {
                let r = try sh("cmp '\(mp)/\(name)' '\(f.src)/\(name)'")
                #expect(r.status == 0, "mounted commit, \(name): \(r.out)\(r.err)")
            }
            for name in (0..<4).map({ "f\($0).bin" }) + (0..<4).map({ "n\($0).bin" }) + ["notes.txt"] {
                // Twice: a retry must not be needed the second time either.
                for pass in 1...2 {
                    let r = try sh("cmp '\(mp)/.ark/commits/\(c2)/\(name)' '\(f.src)/\(name)'")
                    #expect(r.status == 0, "new commit, \(name), pass \(pass): \(r.out)\(r.err)")
                }
            }
        }
        #expect(try ArkProcess.run(["verify"], cwd: f.dir.path).ok)
    }

    /// gc never deletes the only copy of a live object whose bytes do not verify: it names
    /// the object in a one-line error, keeps that pack, and still rewrites the healthy ones.
    @Test func gcKeepsAPackWithADamagedLiveObjectAndRewritesTheRest() throws {
        let ws = Workspace()
        var rng = SeededRandom(seed: 92)
        // Pack 1: a commit no head reaches, and the head's commit with a compressible file.
        let text = (0..<20_000).map { "line \($0) of a compressible file\n" }.joined()
        try ws.write("live/text.txt", Array(text.utf8))
        try ws.write("live/raw.bin", rng.bytes(200_000))
        try ws.write("dead1/x.bin", rng.bytes(200_000))
        _ = try DirectWrites.commit(store: ws.store, [(ws.dir.file("dead1"), nil), (ws.dir.file("live"), "proj")])
        // Pack 2: healthy, with garbage too.
        try ws.write("live2/more.bin", rng.bytes(150_000))
        try ws.write("dead2/y.bin", rng.bytes(150_000))
        _ = try DirectWrites.commit(store: ws.store, [(ws.dir.file("dead2"), nil), (ws.dir.file("live2"), "other")])

        // Damage the compressed bytes of the text file's chunk.
        let repo = try Repository(path: ws.store)
        let head = try #require(try repo.index.head(HeadRef(repo: "proj", owner: repo.identity.endpointID)))
        let entries = try repo.tree(try repo.commit(head).tree).entries
        let manifestID = try #require(entries.first { $0.name == "text.txt" }?.id)
        let chunk = try repo.manifest(manifestID).id(at: 0)
        let loc = try #require(try repo.index.object(chunk)?.location)
        #expect(loc.compression == .zstd)
        let packName = try #require(try repo.index.packName(loc.pack))
        let packPath = ws.store + "/packs/" + packName
        try StoreDamage.flipByte(at: loc.offset + UInt64(loc.storedLength / 2), in: packPath, mask: 0xff)

        let gc = try ws.ark("gc", "--json")
        #expect(gc.status == 3, "\(gc.stderr)")
        let lines = gc.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(chunk.hex) && lines[0].contains("gc kept 1 pack"), "\(gc.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: gc.stdoutData) as? [String: Any])
        #expect(report["packs_rewritten"] as? Int == 1, "\(report)")
        #expect(report["removed_commits"] as? Int == 2, "\(report)")
        #expect((report["damaged"] as? [[String: Any]])?.map { $0["id"] as? String } == [chunk.hex], "\(report)")
        // The damaged pack is still there and still where the index finds the damaged chunk.
        #expect(access(packPath, F_OK) == 0)
        #expect(try repo.index.object(chunk)?.location?.pack == loc.pack)
        // Intact objects of that pack were moved; everything else still reads.
        let rawManifest = try #require(entries.first { $0.name == "raw.bin" }?.id)
        #expect(try repo.index.object(rawManifest)?.location?.pack != loc.pack)
        #expect(try ws.ark("cat", "proj:raw.bin").stdoutData == Data(try ws.read("live/raw.bin")))
        #expect(try ws.ark("cat", "other:more.bin").stdoutData == Data(try ws.read("live2/more.bin")))
        let text2 = try ws.ark("cat", "proj:text.txt")
        #expect(!text2.ok && text2.stderr.contains(chunk.hex), "\(text2.stderr)")
        // That pack now holds only the damaged object: the next gc has nothing to rewrite
        // there and leaves it alone.
        let again = try ws.ark("gc")
        #expect(again.ok && access(packPath, F_OK) == 0, "\(again.stderr)")
        #expect(try repo.index.object(chunk)?.location?.pack == loc.pack)
    }
}
