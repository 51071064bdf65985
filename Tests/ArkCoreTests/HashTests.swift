import Testing
@testable import ArkCore

@Test func hashIsDomainSeparated() {
    let bytes: [UInt8] = Array("hello".utf8)
    #expect(ObjectHasher.hash(.chunk, bytes) != ObjectHasher.hash(.tree, bytes))
}

/// Object ids come from the built-in BLAKE2b; it must agree with libsodium byte for byte, for
/// every kind and around every block boundary.
@Test(arguments: [0, 1, 63, 64, 127, 128, 129, 255, 256, 257, 1000, 65_536, (1 << 20) + 7])
func hashMatchesLibsodium(length: Int) {
    var rng = SeededRandom(seed: UInt64(length) + 1)
    let data = rng.bytes(length)
    for kind in ObjectKind.allCases {
        let ours = data.withUnsafeBytes { ObjectHasher.hash(kind, $0) }
        let sodium = data.withUnsafeBytes { ObjectHasher.sodiumHash(kind, $0) }
        #expect(ours == sodium, "\(kind), \(length) bytes")
    }
}
