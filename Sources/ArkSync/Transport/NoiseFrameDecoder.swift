import ArkCore
import NIOCore

/// The framing of a peer connection: each Noise message (handshake or transport) travels as a
/// 2-byte big-endian length and the message. Decodes whole messages for the handlers after it
/// and enforces the length bounds as soon as a length arrives, before its bytes are buffered:
/// while the connection is still in its handshake a message may be at most
/// `TransportLimits.maxHandshakeMessage` bytes; after it, a message must hold at least an
/// AEAD tag. `NoiseFraming.handshaking` says which of the two applies. Counts received bytes.
struct NoiseFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    private let framing: NoiseFraming

    init(framing: NoiseFraming) {
        self.framing = framing
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self).map(Int.init) else { return .needMoreData }
        if framing.handshaking {
            guard length <= TransportLimits.maxHandshakeMessage else {
                throw SyncError.protocolViolation("handshake message length \(length) exceeds \(TransportLimits.maxHandshakeMessage)")
            }
        } else if length < NoiseCrypto.tagLength {
            throw SyncError.protocolViolation("transport message length \(length) is shorter than its tag")
        }
        guard buffer.readableBytes >= 2 + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        framing.counters.received(length + 2)
        context.fireChannelRead(wrapInboundOut(buffer.readBytes(length: length) ?? []))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData  // a partial message at the end of the stream is dropped
    }
}
