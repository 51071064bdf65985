// ark-rbsrbench: messages, round trips and bytes of range-based set reconciliation between two
// in-memory commit sets of n items that differ by d items, for each direction of the difference.
// Usage: ark-rbsrbench [--n N] [--d 1,100,10000] [--threshold T] [--branching B]
// Prints a markdown table with the bound d·log16(n)·(fingerprint bytes)·4 and pass/FAIL, and the
// same bound with the branching factor B (B fingerprints sent per level).
import ArkCore
import ArkSync
import Foundation

/// Deterministic SplitMix64, so every run reconciles the same sets.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomID(_ rng: inout SeededRandom) -> ObjectID {
    ObjectID(bytes: (0..<4).flatMap { _ in withUnsafeBytes(of: rng.next()) { Array($0) } })
}

/// `count` items shaped like a history: about three commits per generation, random ids.
func historyItems(_ count: Int, seed: UInt64) -> [(RBSRItem, RistrettoPoint)] {
    var rng = SeededRandom(state: seed)
    return (0..<count).map { i in
        let item = RBSRItem(generation: UInt64(i / 3), id: randomID(&rng))
        return (item, item.point)
    }
}

/// `count` extra items at random generations inside the history's span.
func extraItems(_ count: Int, span: Int, seed: UInt64) -> [(RBSRItem, RistrettoPoint)] {
    var rng = SeededRandom(state: seed)
    return (0..<count).map { _ in
        let item = RBSRItem(generation: rng.next() % UInt64(max(span, 1)), id: randomID(&rng))
        return (item, item.point)
    }
}

struct Outcome {
    var messages = 0
    var bytes = 0
    var exact = false
    var seconds = 0.0
    var roundTrips: Int { (messages + 1) / 2 }
}

/// A initiates; messages alternate until one side has nothing more to say.
func reconcile(_ a: InMemoryRBSRItemStore, _ b: InMemoryRBSRItemStore, config: RBSRConfig) throws -> Outcome {
    let start = Date()
    var sa = try RBSRSession(store: a, config: config)
    var sb = try RBSRSession(store: b, config: config)
    var out = Outcome()
    var message: [UInt8]? = try sa.initiate()
    out.messages = 1
    out.bytes = message!.count
    var toB = true
    while let m = message {
        message = toB ? try sb.receive(m) : try sa.receive(m)
        if let reply = message { out.messages += 1; out.bytes += reply.count }
        toB.toggle()
        if out.messages > 100_000 { throw ArkError(.io, "reconciliation does not terminate") }
    }
    out.seconds = Date().timeIntervalSince(start)
    let aIDs = Set(a.sortedItems.map(\.id)), bIDs = Set(b.sortedItems.map(\.id))
    out.exact = sa.isComplete && sb.isComplete && sa.need == bIDs.subtracting(aIDs) && sb.need == aIDs.subtracting(bIDs)
    return out
}

// --- arguments ---------------------------------------------------------------------------
var n = 100_000
var ds = [1, 100, 10_000]
var config = RBSRConfig()
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--n": n = Int(args.popFirst() ?? "") ?? n
    case "--d": ds = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--threshold": config.enumerateThreshold = Int(args.popFirst() ?? "") ?? config.enumerateThreshold
    case "--branching": config.branching = Int(args.popFirst() ?? "") ?? config.branching
    default:
        FileHandle.standardError.write(
            Data("ark-rbsrbench: unknown argument '\(a)' (--n N, --d 1,100,10000, --threshold T, --branching B)\n".utf8))
        exit(2)
    }
}

FileHandle.standardError.write(Data("ark-rbsrbench: hashing \(n) + \(ds.max() ?? 0) items to ristretto255...\n".utf8))
let base = historyItems(n, seed: 42)
let extras = extraItems(ds.max() ?? 0, span: n / 3, seed: 4242)
let baseStore = try InMemoryRBSRItemStore(pointed: base)
let fp = RBSRFingerprint.byteCount
let log16n = log(Double(n)) / log(16)

// The target's bound counts one fingerprint per level; a split sends B of them per level, so
// the last columns show the bound with that factor: d·log_B(n)·B·fp·4.
let B = config.branching
print(
    "| n | d | direction | messages | round trips | bytes | bytes/d | bound d·log16(n)·\(fp)·4 | within bound | exact | time (s) | d·log\(B)(n)·\(B)·\(fp)·4 | within |"
)
print("|---:|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|")
for d in ds {
    let extra = Array(extras.prefix(d))
    let half = (d + 1) / 2
    let cases: [(String, InMemoryRBSRItemStore, InMemoryRBSRItemStore)] = [
        ("initiator has more", try InMemoryRBSRItemStore(pointed: base + extra), baseStore),
        ("responder has more", baseStore, try InMemoryRBSRItemStore(pointed: base + extra)),
        (
            "both (split)", try InMemoryRBSRItemStore(pointed: base + extra.prefix(half)),
            try InMemoryRBSRItemStore(pointed: base + extra.dropFirst(half))
        )
    ]
    let bound = Double(d) * log16n * Double(fp) * 4
    let splitBound = Double(d) * log(Double(n)) / log(Double(B)) * Double(B) * Double(fp) * 4
    for (name, a, b) in cases {
        let r = try reconcile(a, b, config: config)
        let ok = Double(r.bytes) <= bound
        print(
            "| \(n) | \(d) | \(name) | \(r.messages) | \(r.roundTrips) | \(r.bytes) | \(r.bytes / max(d, 1)) | \(Int(bound.rounded())) | \(ok ? "pass" : "FAIL") | \(r.exact ? "yes" : "NO") | \(String(format: "%.2f", r.seconds)) | \(Int(splitBound.rounded())) | \(Double(r.bytes) <= splitBound ? "pass" : "FAIL") |"
        )
    }
}
