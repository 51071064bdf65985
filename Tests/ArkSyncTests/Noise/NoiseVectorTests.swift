import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// The cacophony Noise test vectors (haskell-cryptography/cacophony, vectors/cacophony.txt at
/// 8ee9d41e34a1a596cfa3ab12aa4069ff87dc1247), reduced to the 25519/ChaChaPoly/BLAKE2b suite, read
/// from `Tests/Fixtures/noise/` in this repository (see its README). A missing file is a failure.
struct NoiseVectorFile: Decodable {
    struct Message: Decodable {
        let payload: String
        let ciphertext: String
    }

    struct Vector: Decodable {
        let protocol_name: String
        let init_prologue: String
        let init_psks: [String]?
        let init_static: String?
        let init_ephemeral: String
        let init_remote_static: String?
        let resp_prologue: String
        let resp_psks: [String]?
        let resp_static: String?
        let resp_ephemeral: String?
        let resp_remote_static: String?
        let handshake_hash: String
        let messages: [Message]
    }

    let vectors: [Vector]

    static var path: String {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent("Tests/Fixtures/noise/cacophony-25519-ChaChaPoly-BLAKE2b.json").path
    }

    static func load() throws -> NoiseVectorFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(NoiseVectorFile.self, from: data)
    }
}

func hex(_ s: String) -> [UInt8] { HexCodec.decode(s)! }
func hex(_ s: String?) -> [UInt8]? { s.map { HexCodec.decode($0)! } }

/// Runs one vector end to end: both sides with the given keys, every message compared byte for byte.
func runVector(_ v: NoiseVectorFile.Vector) throws {
    var initiator = try NoiseHandshake(
        protocolName: v.protocol_name, initiator: true, prologue: hex(v.init_prologue),
        localStatic: try hex(v.init_static).map { try NoiseCrypto.KeyPair(secretKey: $0) },
        localEphemeral: try NoiseCrypto.KeyPair(secretKey: hex(v.init_ephemeral)),
        remoteStatic: hex(v.init_remote_static), psks: (v.init_psks ?? []).map { hex($0) })
    var responder = try NoiseHandshake(
        protocolName: v.protocol_name, initiator: false, prologue: hex(v.resp_prologue),
        localStatic: try hex(v.resp_static).map { try NoiseCrypto.KeyPair(secretKey: $0) },
        localEphemeral: try hex(v.resp_ephemeral).map { try NoiseCrypto.KeyPair(secretKey: $0) },
        remoteStatic: hex(v.resp_remote_static), psks: (v.resp_psks ?? []).map { hex($0) })
    let handshakeCount = initiator.pattern.messageCount
    try #require(v.messages.count > handshakeCount, "\(v.protocol_name): vector has no transport messages")
    var initiatorTransport: NoiseTransport?
    var responderTransport: NoiseTransport?
    for (i, m) in v.messages.enumerated() {
        let payload = hex(m.payload)
        let fromInitiator = initiator.pattern.isOneWay || i % 2 == 0
        let ciphertext: [UInt8]
        let received: [UInt8]
        if i < handshakeCount {
            if fromInitiator {
                ciphertext = try initiator.writeMessage(payload: payload)
                received = try responder.readMessage(ciphertext)
            } else {
                ciphertext = try responder.writeMessage(payload: payload)
                received = try initiator.readMessage(ciphertext)
            }
            if i == handshakeCount - 1 {
                #expect(initiator.isComplete && responder.isComplete)
                #expect(HexCodec.encode(initiator.handshakeHash) == v.handshake_hash, "\(v.protocol_name) handshake hash")
                #expect(responder.handshakeHash == initiator.handshakeHash)
                initiatorTransport = try initiator.split()
                responderTransport = try responder.split()
            }
        } else if fromInitiator {
            ciphertext = try initiatorTransport!.encrypt(payload)
            received = try responderTransport!.decrypt(ciphertext)
        } else {
            ciphertext = try responderTransport!.encrypt(payload)
            received = try initiatorTransport!.decrypt(ciphertext)
        }
        #expect(HexCodec.encode(ciphertext) == m.ciphertext, "\(v.protocol_name) message \(i)")
        #expect(received == payload, "\(v.protocol_name) message \(i) payload")
    }
}

@Test func cacophonyVectorsReproduceByteForByte() throws {
    let file: NoiseVectorFile
    do {
        file = try NoiseVectorFile.load()
    } catch {
        Issue.record("cannot read the Noise test vectors at \(NoiseVectorFile.path): \(error)")
        return
    }
    var ran: [String: Int] = [:]
    var skipped: [String] = []
    for vector in file.vectors {
        let patternName = String(vector.protocol_name.dropFirst("Noise_".count).dropLast(NoiseHandshake.suffix.count))
        guard (try? NoisePattern.named(patternName)) != nil else {
            skipped.append(vector.protocol_name)
            continue
        }
        try runVector(vector)
        ran[patternName, default: 0] += 1
    }
    let total = ran.values.reduce(0, +)
    print("noise vectors: ran \(total) (\(ran.keys.sorted().joined(separator: " "))), skipped \(skipped.count): \(skipped)")
    #expect(ran["XK"] == 1, "the XK vector must be among those run")
    #expect(file.vectors.count == 59)
    // Every pattern in the file is supported, PSK variants included.
    #expect(total == 59)
    #expect(skipped.isEmpty)
    #expect(ran.keys.filter { $0.contains("psk") }.count == 21)
}

@Test func tamperedHandshakeMessageIsRejected() throws {
    let responderStatic = NoiseCrypto.KeyPair.generate()
    let name = "Noise_XK_25519_ChaChaPoly_BLAKE2b"
    var initiator = try NoiseHandshake(
        protocolName: name, initiator: true, localStatic: .generate(),
        remoteStatic: responderStatic.publicKey)
    var responder = try NoiseHandshake(protocolName: name, initiator: false, localStatic: responderStatic)
    var m1 = try initiator.writeMessage(payload: [1, 2, 3])
    m1[m1.count - 1] ^= 1
    #expect(throws: NoiseError.decryptionFailed) { try responder.readMessage(m1) }
    // The state is poisoned afterwards.
    #expect(throws: NoiseError.self) { try responder.writeMessage() }
}

@Test(arguments: [0, 1, 31, 32, 47])
func truncatedHandshakeMessagesThrow(length: Int) throws {
    let responderStatic = NoiseCrypto.KeyPair.generate()
    let name = "Noise_XK_25519_ChaChaPoly_BLAKE2b"
    var initiator = try NoiseHandshake(
        protocolName: name, initiator: true, localStatic: .generate(),
        remoteStatic: responderStatic.publicKey)
    var responder = try NoiseHandshake(protocolName: name, initiator: false, localStatic: responderStatic)
    let m1 = try initiator.writeMessage()
    #expect(m1.count == 48)
    #expect(throws: NoiseError.self) { try responder.readMessage(Array(m1.prefix(length))) }
}

@Test func lowOrderEphemeralIsRejected() throws {
    let name = "Noise_XK_25519_ChaChaPoly_BLAKE2b"
    var responder = try NoiseHandshake(protocolName: name, initiator: false, localStatic: .generate())
    // An all-zero ephemeral is a low-order point: the es DH yields zero and must fail.
    #expect(throws: NoiseError.invalidPublicKey) {
        try responder.readMessage([UInt8](repeating: 0, count: 48))
    }
}

@Test func unknownProtocolsAreRejected() {
    for name in ["Noise_XK_448_ChaChaPoly_BLAKE2b", "Noise_ZZ_25519_ChaChaPoly_BLAKE2b", "Noise_XKpsk9_25519_ChaChaPoly_BLAKE2b", "garbage"]
    {
        #expect(throws: NoiseError.self, "\(name)") {
            try NoiseHandshake(
                protocolName: name, initiator: true, localStatic: .generate(), remoteStatic: [UInt8](repeating: 9, count: 32))
        }
    }
}
