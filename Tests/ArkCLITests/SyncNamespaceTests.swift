import Foundation
import Glibc
import Testing

/// The partition scenario of `SyncClusterTests` on a LAN of network namespaces (a bridge, a veth
/// per host, no default route), each daemon in its own namespace. The remotes carry node ids
/// only, so every connection is found by signed UDP multicast discovery. Needs root.
@Suite(.serialized)
struct SyncNamespaceTests {
    @Test(.enabled(if: NetworkLab.shouldRun, "needs root and iproute2 (ip netns)"))
    func partitionHealsAcrossNamespacesWithDiscovery() throws {
        try NetworkLab.require()
        let lab = try NetworkLab()
        defer {
            lab.remove()
            // The kernel removes a deleted namespace's devices asynchronously.
            #expect(SyncNode.eventually(5) { (try? lab.leftovers()) == [] }, "left behind: \((try? lab.leftovers()) ?? [])")
        }
        let nodes = try (0..<3).map { _ in
            let host = try lab.addHost()
            return try SyncNode(port: 7465, host: host.address, namespace: host.namespace)
        }
        try SyncClusterTests.triangle(nodes, withAddresses: false, listenHost: "0.0.0.0")
        let took = try SyncNode.timed { try SyncClusterTests.partitionScenario(nodes[0], nodes[1], nodes[2]) }
        print("[sync] partition scenario across namespaces: \(String(format: "%.2f", took)) s")
        for node in nodes {
            #expect(!node.log.contains("LAN discovery unavailable"), "\(node.short): \(node.log.suffix(2000))")
        }
        // Dialled connections can only have come from discovery: no remote has an address.
        #expect(nodes.contains { $0.log.contains("connected to ") }, "no daemon logged a discovered connection")
    }
}
