import ArkCore
import Testing

@testable import ArkSync

private func varint(_ v: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    RBSRVarint.append(v, to: &out)
    return out
}

/// A bound (generation delta + 1, prefix) in wire form.
private func bound(_ encodedGeneration: UInt64, _ prefix: [UInt8] = []) -> [UInt8] {
    varint(encodedGeneration) + varint(UInt64(prefix.count)) + prefix
}

@Test func messagesRoundTrip() throws {
    let ids = makeItems(3, seed: 9).map(\.id)
    let message = RBSRMessage(ranges: [
        .init(upper: RBSRBound(generation: 5, prefix: [0xab]), mode: .skip),
        .init(upper: RBSRBound(generation: 5, prefix: [0xac, 0x01]), mode: .fingerprint(RBSRFingerprint(bytes: Array(0..<16)))),
        .init(upper: RBSRBound(generation: 900), mode: .idList(wantResponse: true, ids: ids)),
        .init(upper: .infinity, mode: .idList(wantResponse: false, ids: []))
    ])
    let bytes = message.encoded()
    #expect(try RBSRMessage(decoding: bytes) == message)
}

@Test func separatingBoundIsShortest() {
    let a = RBSRItem(generation: 7, id: ObjectID(bytes: [0x12, 0x34] + [UInt8](repeating: 0xff, count: 30)))
    let b = RBSRItem(generation: 7, id: ObjectID(bytes: [0x12, 0x35] + [UInt8](repeating: 0x00, count: 30)))
    let c = RBSRItem(generation: 8, id: ObjectID(bytes: [UInt8](repeating: 0x01, count: 32)))
    #expect(RBSRBound.separating(a, b) == RBSRBound(generation: 7, prefix: [0x12, 0x35]))
    #expect(RBSRBound.separating(b, c) == RBSRBound(generation: 8))
    for (x, y) in [(a, b), (b, c)] {
        let s = RBSRBound.separating(x, y)
        #expect(s.isAbove(x) && !s.isAbove(y))
    }
}

@Test func fingerprintsAreSetFunctions() throws {
    let items = makeItems(500, seed: 11)
    let store = try InMemoryRBSRItemStore(items)
    let shuffled = try InMemoryRBSRItemStore(items.reversed() + items.prefix(10))
    #expect(store.fingerprint(of: .all) == shuffled.fingerprint(of: .all))
    #expect(shuffled.count() == 500)
    // A prefix-sum range equals the fingerprint of the same items summed directly.
    let range = RBSRRange(lower: RBSRBound(generation: 20), upper: RBSRBound(generation: 40))
    let inRange = store.items(in: range, offset: 0, limit: 1000)
    #expect(inRange.count == store.count(in: range) && inRange.count == 60)
    let direct = try InMemoryRBSRItemStore(inRange)
    #expect(store.fingerprint(of: range) == direct.fingerprint(of: .all))
    #expect(try InMemoryRBSRItemStore([]).fingerprint(of: .all) == RBSRFingerprint(sum: .identity, count: 0))
    // Dropping one item changes the fingerprint.
    #expect(try InMemoryRBSRItemStore(items.dropFirst()).fingerprint(of: .all) != store.fingerprint(of: .all))
    #expect(throws: RBSRError.self) {
        try InMemoryRBSRItemStore([RBSRItem(generation: RBSRItem.maxGeneration + 1, id: items[0].id)])
    }
}

private let hostileCases: [(String, [UInt8])] = {
    var cases: [(String, [UInt8])] = []
    cases.append(("empty message", []))
    cases.append(("unknown version", [2]))
    cases.append(("unknown mode", [1] + bound(1) + [3]))
    cases.append(("truncated bound", [1, 0x81]))
    cases.append(("non-minimal varint", [1, 0x81, 0x00, 0, 0]))
    cases.append(("varint overflow", [1] + [UInt8](repeating: 0xff, count: 10) + [0x7f]))
    cases.append(("prefix longer than 32 bytes", [1] + varint(1) + varint(33) + [UInt8](repeating: 1, count: 33) + [0]))
    cases.append(("∞ bound with a prefix", [1, 0, 1, 0xaa, 0]))
    cases.append(("bounds not increasing", [1] + bound(5, [0x80]) + [0] + bound(1, [0x10]) + [0]))
    cases.append(("bounds equal", [1] + bound(5, [0x80]) + [0] + bound(1, [0x80, 0x00]) + [0]))
    cases.append(("first bound at the minimum", [1] + bound(1) + [0]))
    cases.append(("trailing bytes after ∞", [1, 0, 0, 0, 0x00]))
    cases.append(("want_response not a boolean", [1, 0, 0, 2, 7, 0]))
    cases.append(("truncated fingerprint", [1, 0, 0, 1] + [UInt8](repeating: 0, count: 15)))
    cases.append(("id list shorter than its count", [1, 0, 0, 2, 1] + varint(2) + [UInt8](repeating: 0, count: 40)))
    cases.append(("huge id count", [1, 0, 0, 2, 1] + varint(1_000_000_000)))
    cases.append(("generation overflow", [1] + varint(UInt64.max) + [0, 0] + varint(UInt64.max) + [0, 0]))
    return cases
}()

@Test(arguments: hostileCases)
func hostileMessagesAreRejected(what: String, bytes: [UInt8]) throws {
    #expect(throws: RBSRError.self, "\(what)") { try RBSRMessage(decoding: bytes) }
    var session = try RBSRSession(store: InMemoryRBSRItemStore(makeItems(100, seed: 1)))
    #expect(throws: RBSRError.self, "\(what)") { try session.receive(bytes) }
}

@Test func oversizedMessagesAndTooManyRangesAreRejected() throws {
    var config = RBSRConfig()
    config.maxRangesPerMessage = 100
    var ranges: [UInt8] = [1]
    for _ in 0..<101 { ranges += bound(2) + [0] }
    let error = #expect(throws: RBSRError.self) { try RBSRMessage(decoding: ranges, config: config) }
    #expect(error.map { if case .limitExceeded = $0 { true } else { false } } == true)
    let huge = [1] + [UInt8](repeating: 0, count: config.frameLimit)
    #expect(throws: RBSRError.self) { try RBSRMessage(decoding: huge, config: config) }
}

@Test func aPeerThatNeverAgreesHitsTheRoundLimit() throws {
    var config = RBSRConfig()
    config.maxRounds = 6
    var session = try RBSRSession(store: InMemoryRBSRItemStore(makeItems(1000, seed: 2)), config: config)
    let liar = RBSRMessage(ranges: [.init(upper: .infinity, mode: .fingerprint(RBSRFingerprint(bytes: [UInt8](repeating: 7, count: 16))))])
        .encoded()
    for _ in 0..<6 { #expect(try session.receive(liar) != nil) }
    #expect(throws: RBSRError.limitExceeded("more than 6 messages in one session")) { try session.receive(liar) }
}

@Test func aPeerFloodingIDsHitsTheTotalLimit() throws {
    var config = RBSRConfig()
    config.maxTotalIDs = 3000
    var session = try RBSRSession(store: InMemoryRBSRItemStore([]), config: config)
    let flood = RBSRMessage(ranges: [.init(upper: .infinity, mode: .idList(wantResponse: false, ids: makeItems(2000, seed: 3).map(\.id)))])
    _ = try session.receive(flood.encoded())
    #expect(throws: RBSRError.self) { try session.receive(flood.encoded()) }
}

@Test func receivingAfterCompletionIsAnError() throws {
    var session = try RBSRSession(store: InMemoryRBSRItemStore([]))
    #expect(try session.receive([1]) == nil)
    #expect(session.isComplete)
    #expect(throws: RBSRError.self) { try session.receive([1]) }
}

@Test func randomAndMutatedBytesNeverCrash() throws {
    let store = try InMemoryRBSRItemStore(makeItems(2000, seed: 4))
    var peer = try RBSRSession(store: InMemoryRBSRItemStore(makeItems(1500, seed: 4)))
    let valid = try peer.initiate()
    var rng = SeededRandom(seed: 5)
    var rejected = 0, accepted = 0
    for i in 0..<3000 {
        var bytes: [UInt8]
        if i % 2 == 0 {
            bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if !bytes.isEmpty && rng.next() % 2 == 0 { bytes[0] = 1 }
        } else {
            bytes = valid
            for _ in 0...(rng.next() % 4) {
                bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
        }
        var session = try RBSRSession(store: store)
        do {
            if let reply = try session.receive(bytes) { _ = try RBSRMessage(decoding: reply) }
            accepted += 1
        } catch is RBSRError {
            rejected += 1
        }
    }
    // Both outcomes occur, and every rejection was a clean RBSRError.
    #expect(rejected > 1000 && accepted > 100)
}
