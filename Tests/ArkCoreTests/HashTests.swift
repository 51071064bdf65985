import Testing

@testable import ArkCore

@Test func hashIsDomainSeparated() {
    let bytes: [UInt8] = Array("hello".utf8)
    #expect(ObjectHasher.hash(.chunk, bytes) != ObjectHasher.hash(.tree, bytes))
}

/// Known answers for BLAKE2b-256 with ark's per-kind personalization, computed independently
/// with Python's hashlib.blake2b(data, digest_size=32, person=b"ark.<kind>.v1").
struct KnownHash: Sendable, CustomTestStringConvertible {
    enum Input: Sendable { case empty, abc, ramp }
    var kind: ObjectKind
    var input: Input
    var hex: String
    var bytes: [UInt8] {
        switch input {
        case .empty: []
        case .abc: Array("abc".utf8)
        case .ramp: (0..<1280).map { UInt8($0 % 256) }
        }
    }
    var testDescription: String { "\(kind) \(input)" }
}

@Test(arguments: [
    KnownHash(kind: .chunk, input: .empty, hex: "53a087ebf2f6b623fe05335bf138e9de0a97a8f0233a926fe4bebcd29c3fa9a1"),
    KnownHash(kind: .chunk, input: .abc, hex: "2ce22b93ae1b1ac11af6a9134bdc358ca18b24438ea229daa9a8add75f1172d4"),
    KnownHash(kind: .chunk, input: .ramp, hex: "6d3f5f138baabe73a57aeb986e227c434912b72d41221bb54c96f6e52e2c902a"),
    KnownHash(kind: .manifest, input: .empty, hex: "d1a5cb26fd79bea7f7a958705ddaf00165d3de2b9115845e2a2403488ad5896f"),
    KnownHash(kind: .manifest, input: .abc, hex: "8f6394d497a9e2b00d893af2a307fe86a77af9cea1e91b33361b717fbdeba3db"),
    KnownHash(kind: .manifest, input: .ramp, hex: "60acb6da3845434891e3ec4c15e9394f1ab9a4a95623969da90d42e7432e635e"),
    KnownHash(kind: .tree, input: .empty, hex: "adc14a2ed884b966b02b1c8de531ebb30c573f60a46aa7465345c0d2ff3986b1"),
    KnownHash(kind: .tree, input: .abc, hex: "dacd2863e7a8369cf6d06128c01e428c1a66310e5111d34c106258ce5bc2f663"),
    KnownHash(kind: .tree, input: .ramp, hex: "c2c2c8cdaed7d50083f7af6390ea03b69b110053bd412959b91bcf207692692e"),
    KnownHash(kind: .commit, input: .empty, hex: "4de19117f81bd8faf8917d9661e75b68b4e93eae8149ab45d8f69414545009d6"),
    KnownHash(kind: .commit, input: .abc, hex: "0b0985030790307ab0fffbbd63c0b750b004f7f9ea1645e8951ce7af8501cbf6"),
    KnownHash(kind: .commit, input: .ramp, hex: "e46ceae94bf373d021726dbb06ba5420382e7b1f3c5da960b59e6463031c4d06")
])
func knownAnswers(_ v: KnownHash) {
    #expect(ObjectHasher.hash(v.kind, v.bytes).hex == v.hex)
}
