/// Hard limits of the transport. A peer exceeding one is hostile or broken: the connection is
/// dropped with one log line naming the limit.
public struct TransportLimits: Sendable {
    /// Largest request body (either direction).
    public var maxRequestBody = 1 << 20
    /// Largest response body.
    public var maxResponseBody = 32 << 20
    /// Largest notification.
    public var maxNotification = 1 << 20
    /// Concurrently open request streams per connection and direction. Local requests beyond it
    /// wait for a free slot; a peer opening more is a protocol violation.
    public var maxOpenStreams = 256
    /// Initial per-stream receive window; CREDIT frames top it up as bytes arrive.
    public var initialWindow = 256 << 10
    /// The largest window a peer may grant; more is a credit overflow.
    public var maxWindow = 16 << 20
    /// Seconds to finish the Noise handshake and authorization.
    public var handshakeDeadline: Double = 10
    /// Bytes a stream may send before the scheduler moves to the next stream.
    public var schedulerQuantum = 16 << 10

    public init() {}

    public static let `default` = TransportLimits()
    /// Handshake messages of `Noise_XK` with ark's binding payloads are at most 161 bytes.
    static let maxHandshakeMessage = 256
}
