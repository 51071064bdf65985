import ArkCore
import Foundation
import Testing

@testable import ArkSync

/// A real store in a temporary directory with a sync engine, for protocol tests.
final class SyncNode {
    let directory: String
    let repo: Repository
    private(set) var engine: SyncEngine!
    var id: ObjectID { repo.identity.endpointID }

    init() throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/ark-sync-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let p else { throw ArkError(.io, "mkdtemp failed") }
        directory = String(cString: p)
        repo = try Repository(path: directory + "/store")
    }

    deinit {
        engine?.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func start(_ config: SyncConfiguration) {
        engine = SyncEngine(repository: repo, configuration: config)
    }

    /// Commits a tree holding one file per entry of `files` (name -> bytes) on this node's main
    /// head of `repoID`; returns the commit id.
    @discardableResult
    func commit(_ files: [String: [UInt8]], repoID: String = "r", message: String = "m") throws -> ObjectID {
        let session = try WriteSession(repo)
        var entries: [Tree.Entry] = []
        for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
            var chunks: [Manifest.Entry] = []
            var offset = 0
            repeat {
                let part = Array(bytes[offset..<min(offset + 4096, bytes.count)])
                chunks.append(Manifest.Entry(id: try session.put(.chunk, part), length: UInt64(part.count)))
                offset += 4096
            } while offset < bytes.count
            entries.append(.file(FileName(name), manifest: try session.putManifest(chunks), size: UInt64(bytes.count)))
        }
        let tree = try session.put(.tree, try Tree(entries: entries).encoded())
        let ref = HeadRef(repo: repoID, owner: id)
        let parent = try repo.index.head(ref)
        let sig = Commit.Signature(name: "T", email: "t@example.org", time: 1_700_000_000, tzOffsetMinutes: 0)
        let c = Commit(tree: tree, parents: parent.map { [$0] } ?? [], author: sig, committer: sig, message: message, node: id)
        return try session.commit(c, head: ref, expected: parent, cause: "test")
    }

    func head(of writer: SyncNode, repoID: String = "r") throws -> ObjectID? {
        try repo.index.head(HeadRef(repo: repoID, owner: writer.id))
    }

    func has(_ id: ObjectID) throws -> Bool { try repo.index.object(id)?.isPresent == true }
}

/// Connects nodes with loopback connections and waits for all their engines to go quiet.
final class LoopbackNet {
    let nodes: [SyncNode]
    private(set) var links: [(LoopbackConnection, LoopbackConnection)] = []

    init(_ nodes: [SyncNode]) { self.nodes = nodes }

    @discardableResult
    func connect(_ a: SyncNode, _ b: SyncNode) async -> (LoopbackConnection, LoopbackConnection) {
        let pair = LoopbackConnection.pair((a.id, a.engine), (b.id, b.engine))
        links.append(pair)
        await a.engine.connectionOpened(pair.0)
        await b.engine.connectionOpened(pair.1)
        return pair
    }

    func disconnectAll() async {
        for (x, y) in links {
            x.close()
            await nodes.first { $0.id == y.remote }?.engine.connectionClosed(x)
            await nodes.first { $0.id == x.remote }?.engine.connectionClosed(y)
        }
        try? await Task.sleep(for: .milliseconds(20))
        links = []
    }

    /// Waits until no engine has background work left (work can hop between engines).
    func settle() async {
        for _ in 0..<20 {
            for n in nodes { await n.engine.waitUntilIdle() }
            try? await Task.sleep(for: .milliseconds(20))
            var busy = false
            for n in nodes where n.engine.isBusy { busy = true }
            if !busy { return }
        }
    }
}

/// A configuration where `members` share repo `id`.
func shared(_ id: String = "r", _ members: [SyncNode], fetch: SyncConfiguration.FetchPolicy = .full) -> SyncConfiguration.Repo {
    SyncConfiguration.Repo(id: id, members: members.map(\.id), fetch: fetch)
}
