import ArkCore
import Foundation
import Testing

@testable import ArkSync

func makeIdentity() throws -> NodeIdentity {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ark-noise-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try NodeIdentity.loadOrCreate(store: dir)
}

@Test func xkHandshakeBetweenTwoNodesAuthenticatesBoth() throws {
    let alice = try makeIdentity(), bob = try makeIdentity()
    var initiator = try ArkNoise.initiator(identity: alice, responder: bob.endpointID)
    var responder = try ArkNoise.responder(identity: bob)

    let m1 = try initiator.writeMessage()
    #expect(try responder.readMessage(m1).isEmpty)
    let m2 = try responder.writeMessage(payload: try ArkNoise.bindingPayload(for: bob))
    let bobPayload = try initiator.readMessage(m2)
    #expect(
        try NoiseIdentityBinding.verify(
            payload: bobPayload, remoteStatic: initiator.remoteStatic,
            expectedEndpoint: bob.endpointID) == bob.endpointID)
    let m3 = try initiator.writeMessage(payload: try ArkNoise.bindingPayload(for: alice))
    let alicePayload = try responder.readMessage(m3)
    #expect(try NoiseIdentityBinding.verify(payload: alicePayload, remoteStatic: responder.remoteStatic) == alice.endpointID)
    // Neither endpoint id nor static key travels in clear.
    for (message, id) in [(m2, bob.endpointID), (m3, alice.endpointID)] {
        #expect(!Data(message).contains(Data(id.bytes)))
    }
    #expect(!Data(m3).contains(Data(try ArkNoise.staticPublicKey(for: alice.endpointID))))

    var a = try initiator.split(), b = try responder.split()
    #expect(a.handshakeHash == b.handshakeHash)
    let hello = Array("hello".utf8)
    #expect(try b.decrypt(a.encrypt(hello)) == hello)
    #expect(try a.decrypt(b.encrypt(hello + hello)) == hello + hello)
    // A replayed (or reordered) transport message fails and poisons the transport.
    let c = try a.encrypt(hello)
    _ = try b.decrypt(c)
    #expect(throws: NoiseError.decryptionFailed) { try b.decrypt(c) }
    #expect(throws: NoiseError.self) { try b.decrypt(a.encrypt(hello)) }
}

@Test func derivedStaticMatchesTheEndpointID() throws {
    let node = try makeIdentity()
    #expect(try ArkNoise.staticKeyPair(for: node).publicKey == ArkNoise.staticPublicKey(for: node.endpointID))
}

@Test func initiatorDialingTheWrongNodeFails() throws {
    let alice = try makeIdentity(), bob = try makeIdentity(), mallory = try makeIdentity()
    var initiator = try ArkNoise.initiator(identity: alice, responder: bob.endpointID)
    var impostor = try ArkNoise.responder(identity: mallory)
    let m1 = try initiator.writeMessage()
    // Message 1 is encrypted to bob's static: mallory cannot even read it.
    #expect(throws: NoiseError.decryptionFailed) { try impostor.readMessage(m1) }
}

@Test func forgedBindingsAreRejected() throws {
    let alice = try makeIdentity(), mallory = try makeIdentity()
    let aliceStatic = try ArkNoise.staticKeyPair(for: alice).publicKey
    let malloryStatic = try ArkNoise.staticKeyPair(for: mallory).publicKey

    // Genuine binding verifies.
    try NoiseIdentityBinding.verify(payload: ArkNoise.bindingPayload(for: alice), remoteStatic: aliceStatic)

    // Mallory claims alice's id over her own static, signed with her own key.
    let claimed = NoiseIdentityBinding(
        endpointID: alice.endpointID,
        signature: mallory.sign(NoiseIdentityBinding.domainTag + malloryStatic))
    #expect(throws: NoiseError.self) { try NoiseIdentityBinding.verify(payload: claimed.encoded, remoteStatic: malloryStatic) }

    // Mallory replays alice's genuine binding on a handshake made with her own static.
    #expect(throws: NoiseError.self) {
        try NoiseIdentityBinding.verify(payload: ArkNoise.bindingPayload(for: alice), remoteStatic: malloryStatic)
    }

    // A correctly signed binding for an independent (not derived) static is refused by default.
    let other = NoiseCrypto.KeyPair.generate()
    let independent = NoiseIdentityBinding(identity: alice, staticPublicKey: other.publicKey)
    #expect(throws: NoiseError.self) { try independent.verify(staticPublicKey: other.publicKey) }
    try independent.verify(staticPublicKey: other.publicKey, requireDerivedStatic: false)

    // Wrong expected endpoint, flipped signature bit, bad lengths and versions.
    #expect(throws: NoiseError.self) {
        try NoiseIdentityBinding.verify(
            payload: ArkNoise.bindingPayload(for: alice), remoteStatic: aliceStatic,
            expectedEndpoint: mallory.endpointID)
    }
    var flipped = try ArkNoise.bindingPayload(for: alice)
    flipped[40] ^= 0x01
    #expect(throws: NoiseError.self) { try NoiseIdentityBinding.verify(payload: flipped, remoteStatic: aliceStatic) }
    var badVersion = try ArkNoise.bindingPayload(for: alice)
    badVersion[0] = 3
    #expect(throws: NoiseError.self) { try NoiseIdentityBinding.verify(payload: badVersion, remoteStatic: aliceStatic) }
    // A node of sync protocol 1 (tree format v1 only) is refused, naming both versions.
    var oldProtocol = try ArkNoise.bindingPayload(for: alice)
    #expect(oldProtocol[0] == 2)
    oldProtocol[0] = 1
    let refusal = #expect(throws: NoiseError.self) { try NoiseIdentityBinding.verify(payload: oldProtocol, remoteStatic: aliceStatic) }
    #expect(refusal == .protocolVersion(peer: 1, needed: 2))
    #expect("\(refusal.map { "\($0)" } ?? "")" == "speaks sync protocol 1; this node needs 2")
    for length in [0, 1, 96, 98] {
        #expect(throws: NoiseError.self) {
            try NoiseIdentityBinding.verify(payload: [UInt8](repeating: 1, count: length), remoteStatic: aliceStatic)
        }
    }
    #expect(throws: NoiseError.self) {
        try NoiseIdentityBinding.verify(payload: ArkNoise.bindingPayload(for: alice), remoteStatic: nil)
    }
}
