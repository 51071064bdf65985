import ArkCore
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import ArkSync

/// Hostile bytes get the offending connection dropped; the victim keeps serving everyone else.
@Suite struct PeerTransportHostileTests {
    /// After the victim dropped a hostile connection, a well-behaved node still gets answers.
    private func expectStillServing(_ victim: TestNode, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let honest = try await TestNode.start()
        defer { Task { await honest.transport.shutdown() } }
        let connection = try await honest.connect(to: victim)
        #expect(try await connection.request([0x0C], deadline: 5) == [0x0C], sourceLocation: sourceLocation)
        connection.close()
    }

    static let beforeHandshake: [(String, [UInt8])] = [
        ("http request", Array("GET / HTTP/1.1\r\nHost: ark\r\n\r\n".utf8)),
        ("huge length", [0xFF, 0xFF] + Array(repeating: 0x41, count: 100)),
        ("plausible length, random message 1", [0x00, 0x30] + Sodium.randomBytes(48)),
        ("all-zero ephemeral key", [0x00, 0x30] + Array(repeating: 0, count: 48)),
        ("empty message 1", [0x00, 0x00])
    ]

    @Test(arguments: beforeHandshake.indices)
    func garbageBeforeHandshakeIsDropped(_ index: Int) async throws {
        let (name, bytes) = Self.beforeHandshake[index]
        let victim = try await TestNode.start()
        defer { Task { await victim.transport.shutdown() } }
        let received = try await sendRawUntilClosed(bytes, to: victim.port, within: 3)
        #expect(received == 0, "\(name): the victim must not answer garbage")
        #expect(victim.handler.snapshot().opened.isEmpty)
        try await expectStillServing(victim)
    }

    @Test func silentPeerIsDroppedAtTheHandshakeDeadline() async throws {
        var limits = TransportLimits()
        limits.handshakeDeadline = 0.3
        let victim = try await TestNode.start(limits: limits)
        defer { Task { await victim.transport.shutdown() } }
        let started = ContinuousClock.now
        _ = try await sendRawUntilClosed([], to: victim.port, within: 3)
        #expect(ContinuousClock.now - started >= .milliseconds(250))
        try await expectStillServing(victim)
    }

    /// The attacker's first (honest) request used stream 1, so forged streams start at 3.
    enum Injection: String, CaseIterable, Sendable {
        case rawGarbage, tamperedCiphertext, hugeFrameLength, unknownFrameType, dataOnUnopenedStream,
            openWithVictimsParity, reusedStreamID, creditOverflow, tooManyStreams, errorOnOwnStream,
            acceptAfterHandshake, emptyTransportMessage, oversizedRequestBody

        /// Plaintext of one transport message (nil: not encrypted, see `raw`).
        var plaintext: [UInt8]? {
            func varint(_ v: UInt64) -> [UInt8] { var out: [UInt8] = []; RBSRVarint.append(v, to: &out); return out }
            switch self {
            case .rawGarbage, .emptyTransportMessage, .oversizedRequestBody: return nil
            case .tamperedCiphertext: return [0x06, 0x00, 0x01, 0x2A]  // a valid NOTIFY, bit-flipped below
            case .hugeFrameLength: return [0x02, 0x01] + varint(1 << 40) + [1, 2, 3]
            case .unknownFrameType: return [0x7F, 0x00, 0x00]
            case .dataOnUnopenedStream: return [0x02, 0x09, 0x01, 0xAA]
            case .openWithVictimsParity: return [0x01, 0x02, 0x00]
            case .reusedStreamID: return [0x01, 0x05, 0x00, 0x01, 0x03, 0x00]
            case .creditOverflow:
                let amount = varint(1 << 30)
                let open: [UInt8] = [0x01, 0x03, 0x00]
                return open + [0x05, 0x03, UInt8(amount.count)] + amount
            case .tooManyStreams:
                var out: [UInt8] = []
                for i in 0..<257 {
                    out.append(0x01)
                    out += varint(UInt64(2 * i + 3))
                    out.append(0x00)
                }
                return out
            case .errorOnOwnStream: return [0x01, 0x03, 0x00, 0x04, 0x03, 0x00]
            case .acceptAfterHandshake: return [0x09, 0x00, 0x00]
            }
        }

        /// Several transport messages: OPEN, then DATA past the 1 MiB request limit.
        var messages: [[UInt8]] {
            guard self == .oversizedRequestBody else { return [] }
            let chunk = [UInt8](repeating: 0x55, count: 60_000)
            var data: [UInt8] = [0x02, 0x03]
            RBSRVarint.append(UInt64(chunk.count), to: &data)
            data += chunk
            return [[0x01, 0x03, 0x00]] + Array(repeating: data, count: 18)
        }

        var raw: [UInt8] {
            switch self {
            case .emptyTransportMessage: [0x00, 0x00]
            default: [0x00, 0x20] + Sodium.randomBytes(32)
            }
        }
    }

    @Test(arguments: Injection.allCases)
    func hostileBytesAfterHandshakeDropTheConnection(_ injection: Injection) async throws {
        let victim = try await TestNode.start()
        let attacker = try await TestNode.start()
        defer {
            Task {
                await victim.transport.shutdown(); await attacker.transport.shutdown()
            }
        }

        let connection = try #require(try await attacker.connect(to: victim) as? MuxPeerConnection)
        #expect(try await connection.request([1], deadline: 5) == [1])
        if !injection.messages.isEmpty {
            for message in injection.messages { connection.injectPlaintext(message) }
        } else if let plaintext = injection.plaintext {
            connection.injectPlaintext(plaintext, tamper: injection == .tamperedCiphertext)
        } else {
            connection.injectRaw(injection.raw)
        }
        #expect(await eventually(within: 3) { victim.handler.snapshot().closed == [attacker.id] }, "\(injection)")
        #expect(await eventually(within: 3) { attacker.handler.snapshot().closed == [victim.id] })
        #expect(victim.handler.snapshot().requests == 1, "no request from the hostile message reached the handler")
        await expectSyncError({ $0 == .closed }) { _ = try await connection.request([2], deadline: 5) }
        try await expectStillServing(victim)
    }
}

/// What a prober sees: the listener's identity never crosses the wire in clear.
@Suite struct PeerTransportIdentityHidingTests {
    @Test func message2RevealsNeitherTheListenersIDNorItsStaticKey() async throws {
        let listener = try await TestNode.start()
        let prober = try makeIdentity()
        defer { Task { await listener.transport.shutdown() } }

        // A prober that already knows the id completes message 1 and reads message 2.
        var handshake = try ArkNoise.initiator(identity: prober, responder: listener.id)
        let message1 = try handshake.writeMessage()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: listener.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let wire = try await withTimeout(5) {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: [0, UInt8(message1.count)] + message1))
                var received: [UInt8] = []
                for try await chunk in inbound {
                    received += Array(chunk.readableBytesView)
                    if received.count >= 2, received.count >= 2 + Int(received[0]) << 8 + Int(received[1]) { break }
                }
                return received
            }
        }
        let message2 = Array(wire.dropFirst(2))
        #expect(message2.count == Int(wire[0]) << 8 + Int(wire[1]))
        #expect(
            try NoiseIdentityBinding.verify(
                payload: try handshake.readMessage(message2), remoteStatic: handshake.remoteStatic,
                expectedEndpoint: listener.id) == listener.id)
        let staticKey = try ArkNoise.staticPublicKey(for: listener.id)
        #expect(!Data(wire).contains(Data(listener.id.bytes)))
        #expect(!Data(wire).contains(Data(staticKey)))
    }
}
