import ArkCore
import Testing

@testable import ArkSync

/// Deterministic pseudo-random ids and generations for reconciliation tests (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` items shaped like a commit history: about three commits per generation, random ids.
func makeItems(_ count: Int, seed: UInt64, generationSpread: Int = 3) -> [RBSRItem] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { i in
        let id = ObjectID(bytes: (0..<4).flatMap { _ in withUnsafeBytes(of: rng.next()) { Array($0) } })
        return RBSRItem(generation: UInt64(i / generationSpread), id: id)
    }
}

/// Points computed once per item and reused across stores (hash-to-curve is the slow part).
func pointed(_ items: [RBSRItem]) -> [(RBSRItem, RistrettoPoint)] { items.map { ($0, $0.point) } }

struct ReconcileResult {
    var a: RBSRSession<InMemoryRBSRItemStore>
    var b: RBSRSession<InMemoryRBSRItemStore>
    var messages: Int
    var bytes: Int
    var roundTrips: Int { (messages + 1) / 2 }
}

/// Runs a whole session in memory: A initiates, messages alternate until one side returns nil.
func reconcile(_ a: InMemoryRBSRItemStore, _ b: InMemoryRBSRItemStore, config: RBSRConfig = RBSRConfig()) throws -> ReconcileResult {
    var sa = try RBSRSession(store: a, config: config)
    var sb = try RBSRSession(store: b, config: config)
    var message: [UInt8]? = try sa.initiate()
    var messages = 1, bytes = message!.count
    var toB = true
    while let m = message {
        #expect(m.count <= config.frameLimit)
        message = toB ? try sb.receive(m) : try sa.receive(m)
        if let reply = message { messages += 1; bytes += reply.count }
        toB.toggle()
        try #require(messages < 100_000, "reconciliation does not terminate")
    }
    #expect(sa.isComplete && sb.isComplete)
    return ReconcileResult(a: sa, b: sb, messages: messages, bytes: bytes)
}

/// Checks that each side learned exactly what it lacks.
func expectExactDifference(_ r: ReconcileResult, _ a: [RBSRItem], _ b: [RBSRItem]) {
    let aIDs = Set(a.map(\.id)), bIDs = Set(b.map(\.id))
    #expect(r.a.need == bIDs.subtracting(aIDs))
    #expect(r.b.need == aIDs.subtracting(bIDs))
    // Whatever a side reported as `have` the peer really lacks.
    #expect(r.a.have.isSubset(of: aIDs.subtracting(bIDs)))
    #expect(r.b.have.isSubset(of: bIDs.subtracting(aIDs)))
}
