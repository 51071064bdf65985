import ArkCore
import NIOPosix

/// A sync node for the length of one command that needs chunks this node does not hold
/// (git-remote-ark serving a lazy repo): the daemon's engine and transport without its
/// services. It dials the given remotes once (dial-out only: no listener, no LAN discovery),
/// fetches the chunks from whichever peers answered, and shuts down.
package final class PeerChunkSession: Sendable {
    package struct Remote: Sendable {
        package var node: ObjectID
        package var addresses: [(host: String, port: Int)]

        package init(node: ObjectID, addresses: [(host: String, port: Int)]) { self.node = node; self.addresses = addresses }
    }

    package let engine: SyncEngine
    package let tracker: ConnectionTracker
    private let group: MultiThreadedEventLoopGroup
    private let transport: PeerTransport
    private let remotes: [Remote]

    package init(repository: Repository, configuration: SyncConfiguration, remotes: [Remote]) {
        engine = SyncEngine(repository: repository, configuration: configuration)
        tracker = ConnectionTracker(engine: engine)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let members = Set(remotes.map(\.node))
        transport = PeerTransport(identity: repository.identity, handler: tracker, authorize: { members.contains($0) }, group: group)
        self.remotes = remotes
    }

    /// Dials every remote (its addresses in order, until one answers); returns how many connected.
    package func connect() async -> Int {
        let transport = self.transport
        return await withTaskGroup(of: Bool.self) { tasks in
            for r in remotes {
                tasks.addTask {
                    for a in r.addresses where (try? await transport.connect(host: a.host, port: a.port, expecting: r.node)) != nil {
                        return true
                    }
                    return false
                }
            }
            var n = 0
            for await ok in tasks where ok { n += 1 }
            return n
        }
    }

    /// Fetches `chunks` (id, length), four at a time, from the connected peers; `report` is
    /// told each outcome.
    package func fetch(_ chunks: [(ObjectID, UInt64)], report: @escaping @Sendable (Bool, UInt64) -> Void) async {
        await ChunkFetcher(engine: engine).fetchAll(chunks, tracker: tracker, waitingUpTo: 0, report: report)
    }

    package func shutdown() async {
        engine.stop()
        await transport.shutdown()
        engine.shutdown()
        tracker.releaseAll()
        try? await group.shutdownGracefully()
    }
}
