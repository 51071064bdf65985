import ArkCore
import ArkSync
import Foundation

extension HostileAttack {
    /// As a member, announces a commit of `--repo` whose objects all hash right but whose
    /// structure lies: its file's manifest is level 2 and names another level-2 manifest where
    /// a level-1 one belongs. Serves every object honestly and holds the connection for
    /// `--seconds`, sending the announcement `--repeat` times (0.2 s apart: a peer hoping each
    /// copy starts another pull). Reports the culprit (the manifest one level too high).
    static func lyingStructure(_ options: HostileOptions) async throws -> [String: any Sendable] {
        let repo = options.string("repo", default: "proj")
        let seconds = try options.double("seconds", default: 5)
        let repeats = max(1, try options.int("repeat", default: 1))
        let identity = try options.identity()
        var objects: [WireObject] = []
        func add(_ kind: ObjectKind, _ bytes: [UInt8]) -> ObjectID {
            let id = ObjectHasher.hash(kind, bytes)
            objects.append(WireObject(id: id, kind: kind, bytes: bytes))
            return id
        }
        let content = Array("lying structure\n".utf8)
        let length = UInt64(content.count)
        let chunk = add(.chunk, content)
        let m0 = add(.manifest, Manifest(level: 0, entries: [.init(id: chunk, length: length)]).bytes)
        let m1 = add(.manifest, Manifest(level: 1, entries: [.init(id: m0, length: length)]).bytes)
        let m2 = add(.manifest, Manifest(level: 2, entries: [.init(id: m1, length: length)]).bytes)
        let bad = add(.manifest, Manifest(level: 2, entries: [.init(id: m2, length: length)]).bytes)
        let tree = add(.tree, try Tree(entries: [.file("f.txt", manifest: bad, size: length)]).encoded())
        let now = Int64(Date().timeIntervalSince1970)
        let sig = Commit.Signature(name: "hostile", email: "hostile@example.org", time: now, tzOffsetMinutes: 0)
        let commit = add(
            .commit,
            Commit(tree: tree, parents: [], author: sig, committer: sig, message: "lying structure", node: identity.endpointID).encoded())
        let head = HeadAnnouncement.signed(
            by: identity, repo: repo, name: "lie", seq: UInt64(now) * 1000, generation: 1, head: commit, previous: nil,
            time: UInt64(now) * 1000)
        let handler = ServingHandler(objects: objects, heads: [head])
        let (transport, connection) = try await connectAsMember(options, handler: handler)
        for i in 0..<repeats {
            if i > 0 { try? await Task.sleep(for: .milliseconds(200)) }
            try await connection.notify(SyncNotification.announce(head).encoded)
        }
        FileHandle.standardError.write(Data("sent \(repeats) announcement(s)\n".utf8))
        try? await Task.sleep(for: .seconds(seconds))
        connection.close()
        await transport.shutdown()
        return [
            "attack": "lying-structure", "repo": repo, "writer": identity.endpointID.hex, "commit": commit.hex,
            "culprit": m2.hex, "objects_served": handler.served.load(ordering: .relaxed), "held_seconds": seconds
        ]
    }
}
