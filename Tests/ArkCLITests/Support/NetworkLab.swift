import Foundation
import Glibc
import Testing

/// A LAN of Linux network namespaces: one bridge in the host namespace and, per host, a
/// namespace joined to it by a veth pair, with `10.<net>.0.<n>/24` and no default route (like
/// machines on one switch). Names are unique per run; `remove()` deletes everything created.
/// Needs root and `ip` (iproute2).
final class NetworkLab: @unchecked Sendable {  // mutated only by the test that owns it
    struct Host {
        var namespace: String
        var device: String
        var address: String
    }

    /// Root and `ip`: off CI a test needing them is disabled; with CI=true it runs and fails.
    static var shouldRun: Bool { ExternalTool.isCI || (geteuid() == 0 && ExternalTool.path("ip") != nil) }

    static func require() throws {
        try #require(geteuid() == 0, "network namespace tests need root")
        _ = try ExternalTool.require("ip")
    }

    let tag: String
    let bridge: String
    private let net = Int.random(in: 1...250)
    private(set) var hosts: [Host] = []
    private var created: [String] = []  // namespaces

    init() throws {
        tag = String(format: "%06x", UInt32.random(in: 0...0xFF_FFFF))
        bridge = "arkbr\(tag)"
        try Self.ip("link", "add", bridge, "type", "bridge")
        do {
            // No IGMP snooping: without a querier on the segment it could drop the group's traffic.
            try Self.ip("link", "set", bridge, "type", "bridge", "mcast_snooping", "0")
            try Self.ip("link", "set", bridge, "up")
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Adds a host (namespace + veth on the bridge, loopback up); returns it.
    @discardableResult
    func addHost() throws -> Host {
        let n = hosts.count + 1
        let host = Host(namespace: "ark-\(tag)-\(n)", device: "arkv\(tag)\(n)p", address: "10.\(net).0.\(n)")
        let outside = "arkv\(tag)\(n)"
        try Self.ip("netns", "add", host.namespace)
        created.append(host.namespace)
        try Self.ip("link", "add", outside, "type", "veth", "peer", "name", host.device)
        try Self.ip("link", "set", host.device, "netns", host.namespace)
        try Self.ip("link", "set", outside, "master", bridge, "up")
        try Self.ip("-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", host.device)
        try Self.ip("-n", host.namespace, "link", "set", host.device, "up")
        try Self.ip("-n", host.namespace, "link", "set", "lo", "up")
        hosts.append(host)
        return host
    }

    /// Deletes the namespaces (which deletes their veth pairs) and the bridge; idempotent.
    func remove() {
        for ns in created { _ = try? ExternalTool.run("ip", ["netns", "delete", ns]) }
        created = []
        _ = try? ExternalTool.run("ip", ["link", "delete", bridge])
    }

    /// Whether anything this lab created is still present (for the cleanup check).
    func leftovers() throws -> [String] {
        let links = try ExternalTool.run("ip", ["-o", "link", "show"]).output
        let namespaces = try ExternalTool.run("ip", ["netns", "list"]).output
        return (links + namespaces).split(separator: "\n").filter { $0.contains(tag) }.map(String.init)
    }

    @discardableResult
    static func ip(_ args: String...) throws -> String {
        let r = try ExternalTool.run("ip", args)
        guard r.status == 0 else { throw FixtureError("ip \(args.joined(separator: " ")) failed: \(r.output)") }
        return r.output
    }
}
