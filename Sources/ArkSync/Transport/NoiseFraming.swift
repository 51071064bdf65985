/// What the two halves of a connection's framing share: whether the connection is still in
/// its handshake (the decoder's length bounds depend on it; `PeerHandshakeHandler` ends it)
/// and where its wire bytes are counted (its own counters until the peer is proven, then the
/// peer's totals in `PeerTraffic`, switched by `PeerMultiplexer` when it opens).
final class NoiseFraming {  // only touched on the channel's event loop, by the handlers of one pipeline
    var handshaking = true
    var counters = PeerCounters()
}
