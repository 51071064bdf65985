import ArkCore
import NIOCore

/// Noise transport encryption of a connection after its handshake: decrypts each transport
/// message from `NoiseFrameDecoder` into the plaintext of its frames (`MuxFrame`s) and
/// encrypts each plaintext written towards the socket. `PeerHandshakeHandler` installs it
/// with the cipher states its handshake split into. A message that does not decrypt poisons
/// the transport (TCP delivers in order: it was tampered with); the failure travels on as a
/// `SyncError` through `errorCaught`, and nothing after it is delivered.
final class NoiseTransportCodec: ChannelDuplexHandler {
    typealias InboundIn = [UInt8]
    typealias InboundOut = [UInt8]
    typealias OutboundIn = [UInt8]
    typealias OutboundOut = [UInt8]

    private var transport: NoiseTransport
    private var failed = false
    private var context: ChannelHandlerContext?

    init(transport: NoiseTransport) {
        self.transport = transport
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.eventLoop.assertInEventLoop()
        guard !failed else { return }
        let plaintext: [UInt8]
        do {
            plaintext = try transport.decrypt(unwrapInboundIn(data))
        } catch {
            failed = true
            return context.fireErrorCaught(SyncError.protocolViolation("\(error)"))
        }
        context.fireChannelRead(wrapInboundOut(plaintext))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.eventLoop.assertInEventLoop()
        let ciphertext: [UInt8]
        do {
            ciphertext = try transport.encrypt(unwrapOutboundIn(data))
        } catch {
            promise?.fail(error)
            return context.fireErrorCaught(SyncError.protocolViolation("cannot encrypt: \(error)"))
        }
        context.write(wrapOutboundOut(ciphertext), promise: promise)
    }

    // MARK: Test hook (hostile-peer tests)

    /// Encrypts `plaintext` as one transport message, optionally flipping a ciphertext bit.
    func inject(_ plaintext: [UInt8], tamper: Bool) {
        guard let context else { return }
        context.eventLoop.assertInEventLoop()
        guard var ciphertext = try? transport.encrypt(plaintext) else { return }
        if tamper { ciphertext[ciphertext.count / 2] ^= 0x01 }
        context.writeAndFlush(wrapOutboundOut(ciphertext), promise: nil)
    }
}
