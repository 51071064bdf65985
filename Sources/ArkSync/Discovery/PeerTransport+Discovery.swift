import ArkCore

extension PeerTransport {
    /// Connects to `node` at its known LAN address, multicasting a query first when none is known.
    /// A failed dial forgets the address, so the next attempt asks again.
    package func connect(to node: ObjectID, discovery: LANDiscovery, timeout: Double = 1) async throws -> any PeerConnection {
        guard let peer = try await discovery.resolve(node, timeout: timeout) else {
            throw DiscoveryError("no LAN announcement from \(node.short) within \(timeout) s")
        }
        do {
            return try await connect(host: peer.host, port: peer.port, expecting: node)
        } catch {
            discovery.forget(node)
            throw error
        }
    }
}
