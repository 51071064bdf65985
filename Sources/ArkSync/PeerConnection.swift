import ArkCore

/// The seam between the transport (TCP + Noise XK + framed, multiplexed streams with
/// credit-based flow control) and the sync protocol (gossip, reconciliation, fetch).
///
/// A `PeerConnection` exists only after the handshake proved the remote's endpoint id and
/// the node's authorization policy accepted it; everything sent over it is encrypted.
package protocol PeerConnection: AnyObject, Sendable {
    /// The remote's verified ed25519 endpoint id.
    var remote: ObjectID { get }

    /// Sends a request on a new stream and waits for the response. Bulk responses are
    /// flow-controlled per stream so they never starve notifications or other requests.
    /// Throws `SyncError.closed` if the connection drops, `.timeout` after `deadline` seconds.
    func request(_ body: [UInt8], deadline: Double) async throws -> [UInt8]

    /// Sends a one-way message (gossip) on the control stream.
    func notify(_ body: [UInt8]) async throws

    /// Closes the connection; pending requests fail with `SyncError.closed`.
    func close()
}

/// What the protocol layer gives the transport: handlers for what arrives.
package protocol PeerHandler: Sendable {
    /// A connection finished its handshake and was authorized.
    func connectionOpened(_ connection: PeerConnection) async
    func connectionClosed(_ connection: PeerConnection) async
    /// Answers a request; a thrown error is sent back as an error response.
    func handleRequest(_ body: [UInt8], from connection: PeerConnection) async throws -> [UInt8]
    func handleNotification(_ body: [UInt8], from connection: PeerConnection) async
}

package enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `error` itself when it is a SyncError, else a protocol violation naming it.
    package init(wrapping error: any Error) { self = error as? SyncError ?? .protocolViolation("\(error)") }

    case closed
    case timeout
    /// The remote answered a request with an error (its one-line message).
    case remote(String)
    /// Malformed or hostile bytes; the connection is dropped.
    case protocolViolation(String)
    case unauthorized(String)

    package var description: String {
        switch self {
        case .closed: "connection closed"
        case .timeout: "request timed out"
        case .remote(let m): "peer error: \(m)"
        case .protocolViolation(let m): "protocol violation: \(m)"
        case .unauthorized(let m): "unauthorized: \(m)"
        }
    }
}
