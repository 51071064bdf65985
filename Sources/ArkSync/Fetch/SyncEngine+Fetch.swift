import ArkCore

/// Why objects a pull needs could not be fetched. `transient` when every peer that did not serve
/// them timed out, lost its connection or answered with an error: asking again later may work
/// (`SyncEngine+PullRetry`). Not when a peer sent bytes that are not what was asked for (hostile
/// or broken: it is not asked again) or the peers answered without them.
struct FetchFailure: Error, CustomStringConvertible {
    let description: String
    let transient: Bool
}

extension SyncEngine {
    /// Fetches `wanted` objects, asking each peer in turn for what is still missing, and returns
    /// them all. For a few objects or chunks sized to one response; a pull's walk uses
    /// `fetchObjects(_:from:deadline:require:stallDeadline:deliver:)`, which keeps none.
    func fetchObjects(
        _ wanted: [(ObjectID, ObjectKind)], from peers: [any PeerConnection], deadline: Double,
        require: Bool, stallDeadline: Double? = nil
    ) async throws -> [ObjectID: [UInt8]] {
        var result: [ObjectID: [UInt8]] = [:]
        try await fetchObjects(wanted, from: peers, deadline: deadline, require: require, stallDeadline: stallDeadline) { objects in
            for o in objects { result[o.id] = o.bytes }
        }
        return result
    }

    /// Fetches `wanted` objects, asking each peer in turn for what is still missing, and hands
    /// each response's objects to `deliver` as it arrives (every one checked against its id and
    /// kind), keeping only the ids received: memory is one response (`SyncLimits.responseBudget`,
    /// or one larger object), however many objects are wanted. An error `deliver` throws ends
    /// the fetch.
    ///
    /// A peer that fails, times out, answers malformed bytes or sends an object that does not
    /// hash to its id is dropped for this request. With `stallDeadline`, every peer but the last
    /// gets only that long (another could serve instead); one that runs into it is marked
    /// stalled and asked again at the end with the full `deadline`. With `require`, anything no
    /// peer had is a `FetchFailure`.
    func fetchObjects(
        _ wanted: [(ObjectID, ObjectKind)], from peers: [any PeerConnection], deadline: Double,
        require: Bool, stallDeadline: Double? = nil, deliver: ([WireObject]) async throws -> Void
    ) async throws {
        guard !wanted.isEmpty else { return }
        let kinds = Dictionary(wanted, uniquingKeysWith: { a, _ in a })
        var received = Set<ObjectID>()
        var hostile = false
        // Peers that stalled since the pull began (an earlier round) go last too.
        let peers = stallDeadline == nil ? peers : peers.filter { !isStalled($0.remote) } + peers.filter { isStalled($0.remote) }
        var attempts = peers.enumerated().map { i, p in (p, i < peers.count - 1 ? min(stallDeadline ?? deadline, deadline) : deadline) }
        var next = 0
        var unanswered = 0
        while next < attempts.count, received.count < kinds.count {
            let (peer, limit) = attempts[next]
            next += 1
            switch try await fetchMissing(wanted.map(\.0), from: peer, kinds: kinds, received: &received, deadline: limit, deliver: deliver)
            {
            case .timedOut where limit < deadline:
                markStalled(peer.remote)
                attempts.append((peer, deadline))
            case .timedOut:
                markStalled(peer.remote)
                unanswered += 1
            case .answered: clearStalled(peer.remote)
            case .failed: unanswered += 1
            case .sentBadBytes: hostile = true
            }
        }
        if require, let missing = kinds.keys.first(where: { !received.contains($0) }) {
            let what = "\(kinds[missing]!) \(missing.short) (\(kinds.count - received.count) objects missing)"
            if hostile {
                throw FetchFailure(
                    description: "no connected peer served \(what); a peer sent bytes that are not what was asked for", transient: false)
            }
            if peers.isEmpty { throw FetchFailure(description: "no peer to fetch \(what) from", transient: true) }
            // Transient only when no peer answered: one that answered without it does not have it.
            throw FetchFailure(description: "no connected peer served \(what)", transient: unanswered == peers.count)
        }
    }

    enum Attempt { case answered, timedOut, failed, sentBadBytes }

    /// Asks `peer` for every object of `order` not yet received, in batches, until it has
    /// nothing more to give; each response goes to `deliver` once all of it checked out.
    private func fetchMissing(
        _ order: [ObjectID], from peer: any PeerConnection, kinds: [ObjectID: ObjectKind],
        received: inout Set<ObjectID>, deadline: Double, deliver: ([WireObject]) async throws -> Void
    ) async throws -> Attempt {
        var pending = order.filter { !received.contains($0) }
        while !pending.isEmpty {
            let batch = Array(pending.prefix(SyncLimits.maxObjectsPerRequest))
            let objects: [WireObject]
            do {
                let reply = try await peer.request(SyncRequest.getObjects(batch).encoded, deadline: deadline)
                let response: SyncResponse
                do { response = try SyncResponse(decoding: reply) } catch {
                    logger.warning("peer \(peer.remote.short) answered get-objects with malformed bytes: \(error); trying another peer")
                    return .sentBadBytes
                }
                guard case .objects(let o) = response else {
                    logger.warning("peer \(peer.remote.short) answered get-objects with another response type; trying another peer")
                    return .sentBadBytes
                }
                objects = o
            } catch {
                logger.info("peer \(peer.remote.short) failed a get-objects request: \(error)")
                return error as? SyncError == .timeout ? .timedOut : .failed
            }
            var fresh: [WireObject] = []
            for o in objects {
                guard let kind = kinds[o.id], o.kind == kind, ObjectHasher.hash(kind, o.bytes) == o.id else {
                    logger.warning(
                        "peer \(peer.remote.short) sent bytes that are not \(kinds[o.id]?.description ?? "a requested object") \(o.id.short); trying another peer"
                    )
                    return .sentBadBytes
                }
                if received.insert(o.id).inserted { fresh.append(o) }
            }
            if fresh.isEmpty { break }
            try await deliver(fresh)
            pending = pending.filter { !received.contains($0) }
        }
        return .answered
    }

    /// Whether a failed pull may succeed if tried again: a request timed out, a connection
    /// closed, or no peer answered. Not a peer's bad bytes or structure, nor a local error.
    static func isTransient(_ error: any Error) -> Bool {
        if let f = error as? FetchFailure { return f.transient }
        if let e = error as? SyncError { return e == .timeout || e == .closed }
        return false
    }
}
