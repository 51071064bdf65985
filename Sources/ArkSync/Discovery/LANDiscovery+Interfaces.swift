import Glibc
import NIOCore
import NIOPosix

/// Which interfaces discovery uses. A host may sit on several networks, have no default route
/// (two machines on one switch, a lab network), or route everything elsewhere (a VPN): joining
/// only where the kernel would route the group address misses peers on the other networks, so
/// discovery joins and sends on every local IPv4 address.
extension LANDiscovery {
    /// Linux allows at most 20 memberships per socket (IP_MAX_MEMBERSHIPS).
    static let maximumInterfaces = 20

    /// The host's IPv4 addresses, loopback included (peers on the same host), each once.
    static func localIPv4Addresses() throws -> [String] {
        var out: [String] = []
        for device in try System.enumerateDevices() {
            guard case .v4 = device.address, let ip = device.address?.ipAddress, !out.contains(ip) else { continue }
            out.append(ip)
        }
        return Array(out.prefix(maximumInterfaces))
    }

    /// Joins the group on the interface that has address `interface`.
    func join(_ channel: any Channel, on interface: String) async throws {
        guard let options = channel as? SocketOptionProvider else {
            throw DiscoveryError("this platform's datagram channel has no socket options")
        }
        // Joined with setsockopt directly: NIO's joinGroup refuses interfaces without the
        // MULTICAST flag, such as Linux's lo, where the kernel delivers multicast anyway.
        var request = ip_mreq()
        guard inet_pton(AF_INET, configuration.groupAddress, &request.imr_multiaddr) == 1 else {
            throw DiscoveryError("\(configuration.groupAddress) is not an IPv4 multicast address")
        }
        guard inet_pton(AF_INET, interface, &request.imr_interface) == 1 else {
            throw DiscoveryError("\(interface) is not an IPv4 address")
        }
        try await options.unsafeSetSocketOption(level: .ip, name: .ip_add_membership, value: request).get()
    }

    /// A socket bound to `interface` that multicasts out of it, looping back to this host's members.
    func sender(on interface: String) async throws -> any Channel {
        let channel = try await DatagramBootstrap(group: group).bind(host: interface, port: 0).get()
        do {
            guard let options = channel as? SocketOptionProvider else {
                throw DiscoveryError("this platform's datagram channel has no socket options")
            }
            var address = in_addr()
            guard inet_pton(AF_INET, interface, &address) == 1 else { throw DiscoveryError("\(interface) is not an IPv4 address") }
            try await options.setIPMulticastIF(address).get()
            try await options.setIPMulticastLoop(1).get()
            return channel
        } catch {
            try? await channel.close()
            throw error
        }
    }
}
