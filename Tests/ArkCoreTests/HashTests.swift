import Testing
@testable import ArkCore

@Test func hashIsDomainSeparated() {
    let bytes: [UInt8] = Array("hello".utf8)
    #expect(ObjectHasher.hash(.chunk, bytes) != ObjectHasher.hash(.tree, bytes))
}
