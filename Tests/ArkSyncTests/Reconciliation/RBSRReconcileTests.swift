import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// 100,000 history-shaped items plus 1,000 extras at random generations; points computed once.
enum Fixture {
    static let baseCount = 100_000
    static let base: [(RBSRItem, RistrettoPoint)] = pointed(makeItems(baseCount, seed: 42))
    static let extras: [(RBSRItem, RistrettoPoint)] = {
        var rng = SeededRandom(seed: 99)
        return pointed(
            makeItems(1000, seed: 4242).map {
                RBSRItem(generation: rng.next() % UInt64(baseCount / 3), id: $0.id)
            })
    }()
    static let baseStore: InMemoryRBSRItemStore = try! InMemoryRBSRItemStore(pointed: base)
}

enum Direction: String, CaseIterable, Sendable {
    case initiatorHasMore, responderHasMore, both
}

@Test func identicalEmptySetsFinishInOneRoundTrip() throws {
    let r = try reconcile(InMemoryRBSRItemStore([]), InMemoryRBSRItemStore([]))
    #expect(r.messages == 2)
    #expect(r.a.need.isEmpty && r.b.need.isEmpty)
}

@Test(arguments: [0, 1, 10, 1000], Direction.allCases)
func reconcileAtHundredThousand(difference d: Int, direction: Direction) throws {
    let extra = Array(Fixture.extras.prefix(d))
    let a: InMemoryRBSRItemStore, b: InMemoryRBSRItemStore
    switch direction {
    case .initiatorHasMore:
        a = try InMemoryRBSRItemStore(pointed: Fixture.base + extra)
        b = Fixture.baseStore
    case .responderHasMore:
        a = Fixture.baseStore
        b = try InMemoryRBSRItemStore(pointed: Fixture.base + extra)
    case .both:
        // Half the difference on each side (the odd one to the initiator).
        let half = (d + 1) / 2
        a = try InMemoryRBSRItemStore(pointed: Fixture.base + extra.prefix(half))
        b = try InMemoryRBSRItemStore(pointed: Fixture.base + extra.dropFirst(half))
    }
    let r = try reconcile(a, b)
    expectExactDifference(r, a.sortedItems, b.sortedItems)
    print(
        "rbsr n=\(Fixture.baseCount) d=\(d) \(direction.rawValue): \(r.messages) messages (\(r.roundTrips) round trips), \(r.bytes) bytes")
    switch d {
    case 0:
        #expect(r.messages == 2)
        #expect(r.bytes < 1000)
    case 1:
        #expect(r.messages <= 8)
        #expect(r.bytes <= 10_000)
    case 10:
        #expect(r.messages <= 8)
        #expect(r.bytes <= 40_000)
    default:
        // About 1 KB per difference (d × levels × B × fingerprint range, as the notes estimate);
        // round trips grow only because 65 KB frames truncate and the rest is re-split.
        #expect(r.messages <= 60)
        #expect(r.bytes <= 1_500_000)
    }
}

@Test(arguments: [true, false])
func emptyNodeReceivesEverything(emptyInitiates: Bool) throws {
    let empty = try InMemoryRBSRItemStore([])
    let full = Fixture.baseStore
    let r = emptyInitiates ? try reconcile(empty, full) : try reconcile(full, empty)
    let (emptySide, fullSide) = emptyInitiates ? (r.a, r.b) : (r.b, r.a)
    #expect(emptySide.need == Set(full.sortedItems.map(\.id)))
    #expect(fullSide.need.isEmpty)
    print(
        "rbsr cold start n=\(Fixture.baseCount) (empty \(emptyInitiates ? "initiates" : "responds")): \(r.messages) messages, \(r.bytes) bytes"
    )
    // Dominated by the ids themselves: 32 bytes each plus framing.
    #expect(r.bytes < Fixture.baseCount * 32 * 11 / 10)
}

@Test(arguments: 0..<40)
func randomSetsReconcileExactly(seed: Int) throws {
    var rng = SeededRandom(seed: UInt64(seed) &* 7919)
    let universe = makeItems(Int(rng.next() % 3000) + 1, seed: rng.next(), generationSpread: Int(rng.next() % 20) + 1)
    // Each item lands in A only, B only, or both, with per-run random skew.
    let pA = rng.next() % 100, pB = rng.next() % 100
    var a: [RBSRItem] = [], b: [RBSRItem] = []
    for item in universe {
        let shared = rng.next() % 100 < max(pA, pB)
        if shared || rng.next() % 100 < pA { a.append(item) }
        if shared || rng.next() % 100 < pB { b.append(item) }
    }
    var config = RBSRConfig()
    config.enumerateThreshold = Int(rng.next() % 15) + 1
    config.branching = Int(rng.next() % 15) + 2
    config.frameLimit = config.enumerateThreshold * 32 + [256, 1000, 65_000][Int(rng.next() % 3)]
    let r = try reconcile(InMemoryRBSRItemStore(a), InMemoryRBSRItemStore(b), config: config)
    expectExactDifference(r, a, b)
}

@Test func allItemsInOneGenerationUseIDPrefixBounds() throws {
    let items = makeItems(5000, seed: 3, generationSpread: 1_000_000)
    #expect(Set(items.map(\.generation)) == [0])
    let a = Array(items.dropFirst(3)), b = Array(items.dropLast(2))
    let r = try reconcile(InMemoryRBSRItemStore(a), InMemoryRBSRItemStore(b))
    expectExactDifference(r, a, b)
}

@Test func smallFramesStillConverge() throws {
    var config = RBSRConfig()
    config.frameLimit = 8 * 32 + 256
    let base = makeItems(3000, seed: 5)
    let a = Array(base[0..<2000]), b = Array(base[1000..<3000])
    let r = try reconcile(InMemoryRBSRItemStore(a), InMemoryRBSRItemStore(b), config: config)
    expectExactDifference(r, a, b)
}
