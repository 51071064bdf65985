import ArkCore

/// Answering peers' requests. A peer may only touch repos that list it: reconcile and
/// get-heads for any other repo are refused before any data flows.
///
/// Objects: an object is served to a peer only if it is in the closure (commits, trees,
/// manifests, chunk ids) of the current heads of some repo that lists the peer. The closure of
/// each repo is cached and extended incrementally when its heads move; a request for anything
/// outside it is answered as if the object were absent (no distinction is leaked).
extension SyncEngine {
    func serve(_ request: SyncRequest, from connection: any PeerConnection) throws -> SyncResponse {
        let peer = connection.remote
        switch request {
        case .reconcile(let repo, let start, let message):
            try authorize(peer, repo)
            return .reconcile(try respondReconcile(repo: repo, start: start, message: message, connection: connection))
        case .getHeads(let repo):
            try authorize(peer, repo)
            return .heads(try signedHeads(repo: repo, to: connection))
        case .getObjects(let ids):
            return .objects(try serveObjects(ids, to: peer))
        }
    }

    func authorize(_ peer: ObjectID, _ repo: String) throws {
        guard configuration.isMember(peer, of: repo) else {
            logger.warning("refused peer \(peer.short) access to repo \(repo): not a member")
            throw SyncError.unauthorized("repo \(repo) does not list \(peer.short)")
        }
    }

    /// This node's own announcements plus the latest accepted one of every other writer. Our
    /// own only once we learned what the peer last saw from us (see `SyncEngine+Announce`).
    func signedHeads(repo: String, to connection: any PeerConnection) throws -> [HeadAnnouncement] {
        let learned = state.withLock { $0.learned.contains(Self.sessionPrefix(connection) + repo) }
        let own = learned ? try repository.index.ownAnnouncements(repo: repo) : []
        let stored = own + (try repository.index.seenAnnouncements(repo: repo))
        return stored.prefix(SyncLimits.maxHeads).compactMap { try? HeadAnnouncement(decoding: $0.bytes) }
    }

    func respondReconcile(repo: String, start: Bool, message: [UInt8], connection: any PeerConnection) throws -> [UInt8]? {
        let key = Self.sessionPrefix(connection) + repo
        var session: RBSRSession<InMemoryRBSRItemStore>
        if start {
            session = try RBSRSession(store: commitSet(repo: repo), config: configuration.reconciliation)
        } else {
            guard let s = state.withLock({ $0.responders.removeValue(forKey: key) }) else {
                throw SyncError.protocolViolation("reconcile message for \(repo) without a session")
            }
            session = s.session
        }
        let reply: [UInt8]?
        do { reply = try session.receive(message) } catch {
            throw SyncError.protocolViolation("reconciliation of \(repo): \(error)")
        }
        if reply != nil && !session.isComplete {
            let keep = ResponderSession(session: session)
            state.withLock { $0.responders[key] = keep }
        }
        return reply
    }

    /// The reconciled set of `repo`: commits reachable from any of its heads, keyed (generation, id).
    /// Built from the index for each session (a snapshot; no cached points yet).
    func commitSet(repo: String) throws -> InMemoryRBSRItemStore {
        try InMemoryRBSRItemStore(
            repository.index.reachableCommits(repo: repo).map {
                RBSRItem(generation: UInt64($0.generation), id: $0.id)
            })
    }

    func serveObjects(_ ids: [ObjectID], to peer: ObjectID) throws -> [WireObject] {
        var out: [WireObject] = []
        var total = 0
        for id in ids {
            guard let obj = try repository.index.object(id), obj.isPresent, try mayServe(id, to: peer) else { continue }
            if !out.isEmpty && total + obj.rawLength > SyncLimits.responseBudget { break }
            let bytes: [UInt8]
            do { bytes = obj.kind == .chunk ? try repository.readChunk(id) : try repository.read(id, kind: obj.kind) } catch {
                logger.error("not serving \(obj.kind) \(id.short): \(error)")
                continue
            }
            total += bytes.count
            out.append(WireObject(id: id, kind: obj.kind, bytes: bytes))
        }
        return out
    }

    func mayServe(_ id: ObjectID, to peer: ObjectID) throws -> Bool {
        let repos = configuration.repos(sharedWith: peer).map(\.id)
        for repo in repos where try reach(repo).closure.withLock({ try $0.objects.contains(id) }) { return true }
        for repo in repos where try refreshReach(repo, contains: id) { return true }
        return false
    }

    func reach(_ repo: String) -> Reach {
        state.withLock { s in
            if let r = s.reach[repo] { return r }
            let r = Reach()
            s.reach[repo] = r
            return r
        }
    }

    /// Extends the cached closure of `repo` to its current heads (walking only what is new)
    /// and answers whether it holds `id`.
    func refreshReach(_ repo: String, contains id: ObjectID) throws -> Bool {
        let heads = Set(try repository.index.heads(repo: repo).map(\.commit))
        return try reach(repo).closure.withLock { reach in
            if heads.isSubset(of: reach.heads) { return try reach.objects.contains(id) }
            do { return try Self.extend(&reach, to: heads, repository: repository, contains: id) } catch {
                reach = Reach.Closure()  // a walk cut short would hide what lies under its last ids
                throw error
            }
        }
    }

    private static func extend(_ reach: inout Reach.Closure, to heads: Set<ObjectID>, repository: Repository, contains id: ObjectID) throws
        -> Bool
    {
        let objects = reach.objects
        var commits = Array(heads.subtracting(reach.heads))
        var pending: [ObjectID] = []
        while let c = commits.popLast() {
            guard try objects.insert(c), let summary = try repository.index.commit(c) else { continue }
            commits += summary.parents
            pending.append(summary.tree)
        }
        // Ids go into the set in batches: once it has spilled, each insert call is a write
        // transaction of the temporary database.
        var chunks: [ObjectID] = []
        while !pending.isEmpty {
            let batch = Array(pending.suffix(1024))
            pending.removeLast(batch.count)
            for t in try objects.insertNew(batch) {
                guard let obj = try repository.index.object(t), obj.isPresent else { continue }
                switch obj.kind {
                case .tree:
                    for e in try repository.tree(t).entries { if let id = e.id, e.kind != .submodule { pending.append(id) } }
                case .manifest:
                    let m = try repository.manifest(t)
                    let children = (0..<m.count).map { m.id(at: $0) }
                    if m.level == 0 { chunks += children } else { pending += children }
                default: break
                }
            }
            if chunks.count >= 8192 || pending.isEmpty {
                try objects.insertNew(chunks)
                chunks.removeAll(keepingCapacity: true)
            }
        }
        reach.heads.formUnion(heads)
        return try objects.contains(id)
    }
}
