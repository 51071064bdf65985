// ark-chunkstat: measures how chunker parameters trade dedupe against metadata overhead.
// Usage: ark-chunkstat [--mb N] [--tar PATH] [--params 64K/256K/1M,...]
// For each parameter set and each scenario (a version and an edited copy) it prints chunk
// count, mean chunk size, new bytes the edited copy adds, dedupe ratio and metadata overhead.
import ArkCore
import Foundation

/// Deterministic xorshift64* bytes, so every run measures the same input.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var s = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in 0..<words.count {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27
            words[i] = s &* 0x2545F4914F6CDD1D
        }
    }
    return out
}

struct Scenario {
    var name: String
    var base: [UInt8]
    var edited: [UInt8]
}

/// 1 MiB of new bytes inserted in the middle.
func insertMiddle(_ base: [UInt8]) -> [UInt8] {
    var e = base
    e.insert(contentsOf: randomBytes(1 << 20, seed: 0xB0B), at: base.count / 2)
    return e
}

/// `n` scattered small edits, alternating a 16-byte overwrite and a 16-byte insertion.
func scatteredEdits(_ base: [UInt8], n: Int, seed: UInt64) -> [UInt8] {
    var e = base
    var s = seed | 1
    let patch = randomBytes(16, seed: seed ^ 0xFEED)
    for k in 0..<n {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27
        let pos = Int((s &* 0x2545F4914F6CDD1D) % UInt64(e.count - 16))
        if k % 2 == 0 { e.replaceSubrange(pos..<pos + 16, with: patch) } else { e.insert(contentsOf: patch, at: pos) }
    }
    return e
}

/// One line to stdout, unbuffered, so a long run shows its rows as they come.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// A one-line error and exit status 2: bad arguments never crash.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ark-chunkstat: \(message)\n".utf8)); exit(2)
}

/// "64K", "1M" or a plain byte count.
func parseSize(_ s: Substring) -> Int {
    let scale: Int
    switch s.last?.uppercased() {
    case "K": scale = 1 << 10;
    case "M": scale = 1 << 20;
    default: scale = 1
    }
    guard let n = Int(scale == 1 ? s : s.dropLast()), n > 0 else { fail("'\(s)' is not a size like 64K or 1M") }
    return n * scale
}

struct Row {
    var scenario: String, params: String
    var chunks: Int, meanKiB: Double, newBytes: Int, dedupe: Double, overhead: Int, overheadPct: Double
}

func measure(_ sc: Scenario, _ p: ChunkerParameters) -> Row {
    let chunker = Chunker(p)
    func ids(_ data: [UInt8]) -> [(ObjectID, Int)] {
        data.withUnsafeBytes { all in
            var out: [(ObjectID, Int)] = []
            var pos = 0
            while pos < all.count {
                let n = chunker.cut(UnsafeRawBufferPointer(rebasing: all[pos...]))
                out.append((ObjectHasher.hash(.chunk, UnsafeRawBufferPointer(rebasing: all[pos..<pos + n])), n))
                pos += n
            }
            return out
        }
    }
    let a = ids(sc.base), b = ids(sc.edited)
    var unique: [ObjectID: Int] = [:]
    for (id, n) in a { unique[id] = n }
    let afterBase = unique.values.reduce(0, +)
    for (id, n) in b { unique[id] = n }
    let stored = unique.values.reduce(0, +)
    let logical = sc.base.count + sc.edited.count
    // Manifest entries: 40 bytes per chunk reference, both versions. Index: ~100 bytes per stored object.
    let overhead = 40 * (a.count + b.count) + 100 * unique.count
    return Row(
        scenario: sc.name, params: p.description, chunks: a.count,
        meanKiB: Double(sc.base.count) / Double(a.count) / 1024, newBytes: stored - afterBase,
        dedupe: Double(logical) / Double(stored), overhead: overhead,
        overheadPct: 100 * Double(overhead) / Double(stored))
}

var mb = 256
var tarPath: String?
var params: [ChunkerParameters] = [
    .init(min: 64 << 10, avg: 256 << 10, max: 1 << 20),
    .init(min: 128 << 10, avg: 512 << 10, max: 2 << 20),
    .init(min: 256 << 10, avg: 1 << 20, max: 4 << 20),
    .init(min: 512 << 10, avg: 2 << 20, max: 8 << 20)
]
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--mb":
        guard let n = Int(args.popFirst() ?? ""), n >= 2 else { fail("--mb needs a number of MiB (at least 2)") }
        mb = n
    case "--tar":
        guard let t = args.popFirst() else { fail("--tar needs a file") }
        tarPath = t
    case "--params":
        params = (args.popFirst() ?? "").split(separator: ",").map { spec in
            let f = spec.split(separator: "/").map(parseSize)
            guard f.count == 3, f[0] < f[1], f[1] < f[2], f[1].nonzeroBitCount == 1 else {
                fail("'\(spec)' must be min/avg/max with min < avg < max and avg a power of two")
            }
            return ChunkerParameters(min: f[0], avg: f[1], max: f[2])
        }
    default: fail("unknown argument '\(a)'")
    }
}

let random = randomBytes(mb << 20, seed: 0x5EED)
var scenarios = [
    Scenario(name: "random \(mb) MiB, 1 MiB inserted mid", base: random, edited: insertMiddle(random)),
    Scenario(name: "random \(mb) MiB, 100 scattered 16 B edits", base: random, edited: scatteredEdits(random, n: 100, seed: 7))
]
if let tarPath {
    guard let d = FileManager.default.contents(atPath: tarPath) else {
        fail("cannot read '\(tarPath)'")
    }
    let t = [UInt8](d)
    scenarios.append(
        Scenario(
            name: "tar of /usr/include (\(t.count >> 20) MiB), 10 scattered 16 B edits",
            base: t, edited: scatteredEdits(t, n: 10, seed: 11)))
}

emit("| scenario | min/avg/max | chunks | mean chunk | new bytes after edit | dedupe ratio (2 versions) | manifest+index overhead |")
emit("|---|---|---:|---:|---:|---:|---:|")
for sc in scenarios {
    for p in params {
        let r = measure(sc, p)
        emit(
            String(
                format: "| %@ | %@ | %d | %.0f KiB | %.2f MiB | %.3f | %d KiB (%.3f%%) |",
                r.scenario, r.params, r.chunks, r.meanKiB, Double(r.newBytes) / 1048576, r.dedupe,
                r.overhead >> 10, r.overheadPct))
    }
}
