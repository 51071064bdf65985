/// Hard limits of the transport. A peer exceeding one is hostile or broken: the connection is
/// dropped with one log line naming the limit.
package struct TransportLimits: Sendable {
    /// Largest request body (either direction).
    package var maxRequestBody = 1 << 20
    /// Largest response body.
    package var maxResponseBody = 32 << 20
    /// Largest notification.
    package var maxNotification = 1 << 20
    /// Concurrently open request streams per connection and direction. Local requests beyond it
    /// wait for a free slot; a peer opening more is a protocol violation.
    package var maxOpenStreams = 256
    /// Initial per-stream receive window; CREDIT frames top it up as bytes arrive.
    package var initialWindow = 256 << 10
    /// The largest window a peer may grant; more is a credit overflow.
    package var maxWindow = 16 << 20
    /// Seconds to finish the Noise handshake and authorization (three messages: a few round
    /// trips on any real link, milliseconds on a LAN).
    package var handshakeDeadline: Double = 4
    /// Accepted connections still in their handshake, overall and per source address. Over
    /// either cap the oldest pending handshake is closed to make room (see `ConnectionGate`).
    package var maxPendingHandshakes = 128
    package var maxPendingHandshakesPerAddress = 32
    /// Authenticated connections per peer (two is normal: each side dials the other). Over it
    /// the peer's oldest connection is closed.
    package var maxConnectionsPerPeer = 4
    /// Response bytes a connection, and a peer over all its connections, may hold built (or
    /// being built) but not yet sent. A request is handed to the handler only while both are
    /// under budget, so each holds at most its budget plus one response, and a peer that grants
    /// no credit makes this side build no more than that.
    package var responseBytesPerConnection = 24 << 20
    package var responseBytesPerPeer = 32 << 20
    /// Bytes of the peer's requests this side holds unanswered (received, not yet handed to the
    /// handler) per connection; more is a protocol violation. Honest requests are small
    /// (getObjects of at most 1,024 ids is 32 KiB) and few at a time.
    package var maxBufferedRequestBytes = 16 << 20
    /// Bytes reserved for a response before it is built; the actual size once it is.
    package var responseReservation = (8 << 20) + (64 << 10)
    /// Never return credit for received data (ark-hostile's credit starvation; never set it in ark).
    package var withholdCredit = false
    /// Bytes a stream may send before the scheduler moves to the next stream.
    package var schedulerQuantum = 16 << 10

    package init() {}

    package static let `default` = TransportLimits()
    /// Handshake messages of `Noise_XK` with ark's binding payloads are at most 161 bytes.
    static let maxHandshakeMessage = 256
}
