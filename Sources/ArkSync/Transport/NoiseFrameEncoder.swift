import NIOCore

/// The sending half of the framing (see `NoiseFrameDecoder`): writes each Noise message as a
/// 2-byte big-endian length and the message, and counts the bytes sent.
final class NoiseFrameEncoder: ChannelOutboundHandler {
    typealias OutboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    private let framing: NoiseFraming

    init(framing: NoiseFraming) {
        self.framing = framing
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.eventLoop.assertInEventLoop()
        let message = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: message.count + 2)
        buffer.writeInteger(UInt16(message.count))
        buffer.writeBytes(message)
        framing.counters.sent(buffer.readableBytes)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }
}
