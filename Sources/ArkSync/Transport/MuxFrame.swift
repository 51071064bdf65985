/// One frame inside a decrypted transport message. A Noise transport message (at most 65535
/// bytes of ciphertext) carries one or more frames back to back:
///
///     frame = type (1 byte) ‖ varint stream id ‖ varint payload length ‖ payload
///
/// Stream 0 is the control stream (ACCEPT, REJECT, NOTIFY, NOTIFY_PART). Streams opened by the
/// TCP initiator have odd ids, those opened by the responder even ids (> 0); ids only grow.
struct MuxFrame: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        /// Opens a request stream (sender's parity, larger than any id it opened before).
        case open = 0x01
        /// A chunk of a request or response body; counts against the stream's credit.
        case data = 0x02
        /// End of the body in this direction (after a request: the request is complete;
        /// after a response: the stream is finished).
        case end = 0x03
        /// The request failed at the responder; payload is a one-line UTF-8 message. Ends the stream.
        case error = 0x04
        /// Payload is a varint: more bytes the sender of CREDIT is willing to receive on the stream.
        case credit = 0x05
        /// A whole notification, or the last chunk of one (control stream).
        case notify = 0x06
        /// A non-final chunk of a notification (control stream).
        case notifyPart = 0x07
        /// The requester abandoned the stream (deadline or cancellation); payload: reason.
        case reset = 0x08
        /// First frame from the TCP responder: the peer was authorized.
        case accept = 0x09
        /// First frame from the TCP responder: the peer was refused (payload: reason); then close.
        case reject = 0x0A
    }

    var kind: Kind
    var stream: UInt64
    var payload: ArraySlice<UInt8>

    init(_ kind: Kind, stream: UInt64, payload: ArraySlice<UInt8> = []) {
        self.kind = kind
        self.stream = stream
        self.payload = payload
    }

    /// Upper bound of the header size (1 + 10 + 10), enough to reserve space when batching.
    static let maxHeaderLength = 21
    /// Stream ids beyond this are rejected (far more than a connection can ever open).
    static let maxStreamID: UInt64 = 1 << 40

    var encodedLength: Int { 1 + RBSRVarint.size(stream) + RBSRVarint.size(UInt64(payload.count)) + payload.count }

    func encode(into out: inout [UInt8]) {
        out.append(kind.rawValue)
        RBSRVarint.append(stream, to: &out)
        RBSRVarint.append(UInt64(payload.count), to: &out)
        out.append(contentsOf: payload)
    }

    /// Decodes every frame of a decrypted message; any malformation throws a message naming it.
    static func decodeAll(_ bytes: [UInt8]) throws(MuxFrameError) -> [MuxFrame] {
        var reader = RBSRReader(bytes)
        var frames: [MuxFrame] = []
        guard !bytes.isEmpty else { throw MuxFrameError("empty transport message") }
        while !reader.isAtEnd {
            let at = reader.offset
            do {
                let rawKind = try reader.u8("frame type")
                guard let kind = Kind(rawValue: rawKind) else {
                    throw MuxFrameError("unknown frame type 0x\(String(rawKind, radix: 16)) at byte \(at)")
                }
                let stream = try reader.varint("stream id")
                guard stream <= maxStreamID else { throw MuxFrameError("stream id \(stream) out of range at byte \(at)") }
                let length = try reader.varint("payload length")
                guard length <= UInt64(reader.remaining) else {
                    throw MuxFrameError(
                        "\(kind) frame at byte \(at) claims \(length) payload bytes, \(reader.remaining) left in the message")
                }
                frames.append(MuxFrame(kind, stream: stream, payload: try reader.take(Int(length), "payload")))
            } catch let error as MuxFrameError {
                throw error
            } catch {
                throw MuxFrameError("\(error)")
            }
        }
        return frames
    }

    /// The varint payload of a CREDIT frame (exactly one minimal varint, > 0).
    func creditIncrement() throws(MuxFrameError) -> UInt64 {
        var reader = RBSRReader(Array(payload))
        do {
            let value = try reader.varint("credit")
            guard reader.isAtEnd, value > 0 else { throw MuxFrameError("malformed CREDIT on stream \(stream)") }
            return value
        } catch let error as MuxFrameError {
            throw error
        } catch {
            throw MuxFrameError("malformed CREDIT on stream \(stream): \(error)")
        }
    }

    static func credit(stream: UInt64, _ amount: UInt64) -> MuxFrame {
        var payload: [UInt8] = []
        RBSRVarint.append(amount, to: &payload)
        return MuxFrame(.credit, stream: stream, payload: payload[...])
    }

    /// A one-line UTF-8 message, capped so it always fits one frame.
    static func text(_ kind: Kind, stream: UInt64, _ message: String) -> MuxFrame {
        let line = String(message.map { $0.isNewline ? " " : $0 })
        return MuxFrame(kind, stream: stream, payload: Array(line.utf8.prefix(1024))[...])
    }

    var text: String { String(decoding: payload, as: UTF8.self) }
}

struct MuxFrameError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
