import Foundation
import Testing

@testable import ArkCore

/// Packs written with O_DIRECT (`DirectAppender`, through an aligned staging buffer) read back
/// byte for byte: records of every size around the 4 KiB block and the 4 MiB staging buffer,
/// syncs in the middle of a block (the padded last block is written again, whole, later), the
/// batch path (`append(records:)`), and sealed packs rolled over by size. Run on the disk's
/// temporary directory and, where there is one, on tmpfs (where O_DIRECT may be refused and
/// the same writes go through the page cache).
@Suite struct PackWriterTests {
    static var directories: [String] {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return [base] + (FileManager.default.fileExists(atPath: "/dev/shm") ? ["/dev/shm"] : [])
    }

    static func makeDirectory(in base: String) throws -> String {
        var template = Array("\(base)/ark-pack-test-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ArkError(.io, "mkdtemp failed in \(base)")
        }
        return String(cString: p)
    }

    /// Every synced record's header and bytes are where its location says, and each pack file
    /// is exactly as long as `syncPacks` reported (no padding left behind).
    static func check(_ dir: String, _ records: [PackWriter.Pending], _ packs: [PackWriter.SyncedPack], _ expected: [ObjectID: [UInt8]])
        throws
    {
        for p in packs {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/" + p.name)
            #expect((attributes[.size] as? NSNumber)?.uint64Value == p.size, "\(p.name)")
        }
        for r in records {
            let file = try FileDescriptor(open: dir + "/" + r.packName, flags: O_RDONLY)
            var header = [UInt8](repeating: 0, count: PackFormat.recordHeaderSize)
            try header.withUnsafeMutableBytes { try file.pread(into: $0, at: r.location.offset - UInt64(PackFormat.recordHeaderSize)) }
            let parsed = PackScanner.parseHeader(header[...], dataOffset: r.location.offset, packName: r.packName)
            #expect(parsed?.id == r.id)
            var bytes = [UInt8](repeating: 0, count: r.location.storedLength)
            try bytes.withUnsafeMutableBytes { try file.pread(into: $0, at: r.location.offset) }
            #expect(bytes == expected[r.id], "record of \(bytes.count) bytes at \(r.location.offset)")
        }
    }

    @Test(arguments: directories)
    func directWritesReadBackAcrossSyncs(_ base: String) throws {
        let dir = try Self.makeDirectory(in: base)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededRandom(seed: 41)
        let writer = PackWriter(directory: dir)
        var expected: [ObjectID: [UInt8]] = [:]
        var records: [PackWriter.Pending] = []
        var packs: [String: PackWriter.SyncedPack] = [:]
        func add(_ n: Int) throws {
            let bytes = rng.bytes(n)
            let id = ObjectHasher.hash(.chunk, bytes)
            expected[id] = bytes
            try bytes.withUnsafeBytes { try writer.append(id: id, kind: .chunk, raw: $0, compressed: nil) }
        }
        func sync() throws {
            let (r, p) = try writer.syncPacks()
            records += r
            for pack in p { packs[pack.name] = pack }
            try Self.check(dir, records, Array(packs.values), expected)
        }
        for n in [1, 4095, 4096, 4097, 100] { try add(n) }
        try sync()  // mid-block: the padded block is rewritten by the next sync
        for n in [(1 << 20) + 3, 5 << 20, 7] { try add(n) }  // across the 4 MiB staging buffer
        try sync()
        try sync()  // nothing new
        // The batch path: large records given together.
        let batch = (0..<3).map { _ in rng.bytes((2 << 20) + 11) }
        try withExtendedLifetime(batch) {
            let pointers = batch.map { b in b.withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) } }
            let recs = zip(batch, pointers).map { b, p -> PackWriter.Record in
                let id = ObjectHasher.hash(.chunk, b)
                expected[id] = b
                return PackWriter.Record(id: id, kind: .chunk, raw: p, compressed: nil)
            }
            try writer.append(records: recs)
        }
        try sync()
        #expect(records.count == 11)
        #expect(packs.count == 1)
    }

    @Test(arguments: directories)
    func sealedPacksRollOverBySize(_ base: String) throws {
        let dir = try Self.makeDirectory(in: base)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededRandom(seed: 42)
        let writer = PackWriter(directory: dir, sealsOnSync: true, targetSize: 64 << 10)
        var expected: [ObjectID: [UInt8]] = [:]
        var records: [PackWriter.Pending] = []
        var packs: [PackWriter.SyncedPack] = []
        for round in 0..<3 {
            for i in 0..<20 {
                let bytes = rng.bytes(1 + (i * 7919 + round * 104_729) % 20_000)
                let id = ObjectHasher.hash(.chunk, bytes)
                expected[id] = bytes
                try bytes.withUnsafeBytes { try writer.append(id: id, kind: .chunk, raw: $0, compressed: nil) }
            }
            let (r, p) = try writer.syncPacks()
            records += r
            packs += p
        }
        try Self.check(dir, records, packs, expected)
        #expect(records.count == 60)
        #expect(packs.count > 3)
        #expect(Set(records.map(\.packName)) == Set(packs.map(\.name)))
    }
}
