import ArkCore
import NIOCore

/// The Noise XK handshake messages 2 and 3 and the authorization decision.
extension PeerSession {
    /// Initiator: message 2 proves the responder holds the expected id's key.
    func readMessage2(_ handshake: inout NoiseHandshake, _ message: [UInt8]) throws {
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
        transport = try handshake.split()
        phase = .awaitingAccept
        writeFramed(message3)
        context?.flush()
    }

    /// Responder: message 3 reveals and proves the initiator's id; authorize before anything else.
    func readMessage3(_ handshake: inout NoiseHandshake, _ message: [UInt8]) throws {
        let remote: ObjectID
        do {
            let payload = try handshake.readMessage(message)
            remote = try NoiseIdentityBinding.verify(payload: payload, remoteStatic: handshake.remoteStatic)
            transport = try handshake.split()
        } catch let e as NoiseError where e.isProtocolVersion {
            throw SyncError.protocolViolation("peer at \(peerLabel) \(e)")
        } catch {
            throw SyncError.unauthorized("handshake from \(peerLabel) failed: \(error)")
        }
        guard authorize(remote) else {
            gate.refusals.log(logger, .warning, key: remote.hex) {
                "refused connection from unauthorized node \(remote.hex) at \(peerLabel): it is in no repo's remotes"
            }
            phase = .awaitingAccept // no application frames are processed from here on
            writeEncrypted([MuxFrame.text(.reject, stream: 0, "node \(remote.short) is not authorized")])
            let channel = context?.channel
            context?.flush()
            phase = .closed
            channel?.close(promise: nil)
            return
        }
        writeEncrypted([MuxFrame(.accept, stream: 0)])
        context?.flush()
        becomeOpen(remote: remote)
    }
}
