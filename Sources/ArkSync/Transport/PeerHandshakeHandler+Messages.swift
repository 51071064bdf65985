import ArkCore
import NIOCore

/// The Noise XK handshake messages, the authorization decision, and the hand-over to the
/// multiplexer.
extension PeerHandshakeHandler {
    func handleMessage(_ message: [UInt8]) throws {
        switch phase {
        case .idle, .done:
            return
        case .handshake(var handshake):
            if isInitiator {
                try readMessage2(&handshake, message)
            } else if handshake.remoteEphemeral == nil {
                guard try handshake.readMessage(message).isEmpty else {
                    throw SyncError.protocolViolation("handshake message 1 carries a payload")
                }
                if let channel = context?.channel { gate.handshakeProgressed(channel, address: address) }
                let message2 = try handshake.writeMessage(payload: try ArkNoise.bindingPayload(for: identity))
                phase = .handshake(handshake)
                context?.writeAndFlush(wrapOutboundOut(message2), promise: nil)
            } else {
                try readMessage3(&handshake, message)
            }
        case .awaitingAccept:
            guard let expected else { return }
            var frames = try MuxFrame.decodeAll(message)  // `message` is plaintext: the codec decrypted it
            let first = frames.removeFirst()
            switch first.kind {
            case .accept where first.stream == 0:
                handOver(remote: expected, frames: frames)
            case .reject where first.stream == 0:
                failure = .unauthorized("\(expected.short) refused this node: \(first.text)")
                traffic.refused(expected, reason: first.text)
                gate.refusals.log(logger, .warning, key: expected.hex) {
                    "connection to \(expected.short) at \(peerLabel) refused: \(first.text) (we are not in its remotes)"
                }
                close()
            default:
                throw SyncError.protocolViolation("expected ACCEPT or REJECT, got \(first.kind)")
            }
        }
    }

    /// Initiator: message 2 proves the responder holds the expected id's key.
    private func readMessage2(_ handshake: inout NoiseHandshake, _ message: [UInt8]) throws {
        guard let expected else { return }
        let payload: [UInt8]
        do {
            payload = try handshake.readMessage(message)
            try NoiseIdentityBinding.verify(payload: payload, remoteStatic: handshake.remoteStatic, expectedEndpoint: expected)
        } catch let e as NoiseError where e.isProtocolVersion {
            throw SyncError.protocolViolation("peer \(expected.short) at \(peerLabel) \(e)")
        } catch {
            throw SyncError.unauthorized("\(peerLabel) did not prove it is \(expected.short): \(error)")
        }
        let message3 = try handshake.writeMessage(payload: try ArkNoise.bindingPayload(for: identity))
        let transport = try handshake.split()
        phase = .awaitingAccept
        context?.writeAndFlush(wrapOutboundOut(message3), promise: nil)
        try installCodec(transport)
    }

    /// Responder: message 3 reveals and proves the initiator's id; authorize before anything else.
    private func readMessage3(_ handshake: inout NoiseHandshake, _ message: [UInt8]) throws {
        let remote: ObjectID
        let transport: NoiseTransport
        do {
            let payload = try handshake.readMessage(message)
            remote = try NoiseIdentityBinding.verify(payload: payload, remoteStatic: handshake.remoteStatic)
            transport = try handshake.split()
        } catch let e as NoiseError where e.isProtocolVersion {
            throw SyncError.protocolViolation("peer at \(peerLabel) \(e)")
        } catch {
            throw SyncError.unauthorized("handshake from \(peerLabel) failed: \(error)")
        }
        phase = .awaitingAccept  // no application frames are processed from here on
        try installCodec(transport)
        guard authorize(remote) else {
            gate.refusals.log(logger, .warning, key: remote.hex) {
                "refused connection from unauthorized node \(remote.hex) at \(peerLabel): it is in no repo's remotes"
            }
            var reject: [UInt8] = []
            MuxFrame.text(.reject, stream: 0, "node \(remote.short) is not authorized").encode(into: &reject)
            context?.writeAndFlush(wrapOutboundOut(reject), promise: nil)
            close()
            return
        }
        var accept: [UInt8] = []
        MuxFrame(.accept, stream: 0).encode(into: &accept)
        context?.writeAndFlush(wrapOutboundOut(accept), promise: nil)
        handOver(remote: remote, frames: [])
    }

    /// The handshake split: from here on messages in both directions go through the codec.
    private func installCodec(_ transport: NoiseTransport) throws {
        framing.handshaking = false
        guard let context else { throw SyncError.closed }
        try context.pipeline.syncOperations.addHandler(NoiseTransportCodec(transport: transport), position: .before(self))
    }

    /// The peer is proven and accepted: the multiplexer takes over the connection (with any
    /// frames that arrived in the ACCEPT's message) and this handler leaves the pipeline.
    private func handOver(remote: ObjectID, frames: [MuxFrame]) {
        guard let context else { return }
        context.eventLoop.assertInEventLoop()
        phase = .done
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if !isInitiator { gate.handshakeEnded(context.channel, address: address) }
        let promise = established
        established = nil
        let handoff = PeerMultiplexer.Handoff(remote: remote, peerLabel: peerLabel, established: promise)
        let multiplexer = makeMultiplexer(handoff)
        do {
            try context.pipeline.syncOperations.addHandler(multiplexer, position: .after(self))
        } catch {
            promise?.fail(error)
            context.close(promise: nil)
            return
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        if !frames.isEmpty { multiplexer.received(frames) }
    }
}
