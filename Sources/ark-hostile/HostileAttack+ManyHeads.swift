import ArkCore
import ArkSync
import Foundation
import Synchronization

/// Serves a fixed set of objects and signed heads honestly; refuses reconciliation.
final class ServingHandler: PeerHandler {
    let objects: [ObjectID: WireObject]
    let heads: [HeadAnnouncement]
    let served = Atomic<Int>(0)

    init(objects: [WireObject], heads: [HeadAnnouncement]) {
        self.objects = Dictionary(objects.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.heads = heads
    }

    func connectionOpened(_ connection: any PeerConnection) async {}
    func connectionClosed(_ connection: any PeerConnection) async {}
    func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        switch try SyncRequest(decoding: body) {
        case .getObjects(let ids):
            let found = ids.compactMap { objects[$0] }
            served.add(found.count, ordering: .relaxed)
            return SyncResponse.objects(found).encoded
        case .getHeads: return SyncResponse.heads(heads).encoded
        case .reconcile: throw SyncError.remote("not reconciling")
        }
    }
    func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {}
}

extension HostileAttack {
    /// As a member, creates `--count` heads of `--repo` (names `head-0`...), each at its own
    /// real commit and tree (one symlink), announces them all and serves their objects, then holds the
    /// connection for `--seconds`. A victim that limits heads per writer keeps only so many.
    static func manyHeads(_ options: HostileOptions) async throws -> [String: any Sendable] {
        let count = try options.int("count", default: 100)
        let repo = options.string("repo", default: "proj")
        let seconds = try options.double("seconds", default: 5)
        let identity = try options.identity()
        var objects: [WireObject] = []
        var heads: [HeadAnnouncement] = []
        let now = Int64(Date().timeIntervalSince1970)
        let sig = Commit.Signature(name: "hostile", email: "hostile@example.org", time: now, tzOffsetMinutes: 0)
        for i in 0..<count {
            // A tree of its own per head (one symlink), so every head is a distinct tree to walk.
            let treeBytes = try Tree(entries: [.symlink("link", target: "head-\(i)")]).encoded()
            let tree = ObjectHasher.hash(.tree, treeBytes)
            objects.append(WireObject(id: tree, kind: .tree, bytes: treeBytes))
            let bytes = Commit(tree: tree, parents: [], author: sig, committer: sig, message: "head \(i)", node: identity.endpointID)
                .encoded()
            let id = ObjectHasher.hash(.commit, bytes)
            objects.append(WireObject(id: id, kind: .commit, bytes: bytes))
            heads.append(
                .signed(
                    by: identity, repo: repo, name: "head-\(i)", seq: 1, generation: 1, head: id, previous: nil,
                    time: UInt64(now) * 1000))
        }
        let handler = ServingHandler(objects: objects, heads: heads)
        let (transport, connection) = try await connectAsMember(options, handler: handler)
        for a in heads { try await connection.notify(SyncNotification.announce(a).encoded) }
        FileHandle.standardError.write(Data("sent \(count) announcements\n".utf8))
        try? await Task.sleep(for: .seconds(seconds))
        connection.close()
        await transport.shutdown()
        return [
            "attack": "many-heads", "sent": count, "repo": repo, "writer": identity.endpointID.hex,
            "objects_served": handler.served.load(ordering: .relaxed), "held_seconds": seconds
        ]
    }
}
