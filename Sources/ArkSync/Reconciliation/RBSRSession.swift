import ArkCore

/// One side of a range-based set reconciliation session over a local `RBSRItemStore`.
///
/// The initiator calls `initiate()` and sends the result; then each side passes every received
/// message to `receive(_:)` and sends back the reply it returns, until `receive` returns nil
/// (the peer's message was all Skip) — the side that produces an all-Skip reply sends it and is
/// complete too. Afterwards `need` holds exactly the ids the peer has and this side lacks; the
/// union of both sides' `need` is the symmetric difference. `have` holds the ids this side told
/// the peer about because the peer lacked them (known only for ranges this side answered).
package struct RBSRSession<Store: RBSRItemStore> {
    package let store: Store
    package let config: RBSRConfig
    package private(set) var need: Set<ObjectID> = []
    package private(set) var have: Set<ObjectID> = []
    package private(set) var isComplete = false
    package private(set) var messagesSent = 0
    package private(set) var messagesReceived = 0
    package private(set) var bytesSent = 0
    package private(set) var bytesReceived = 0
    package let roundLimit: Int
    private var started = false
    private var idsReceived = 0

    package init(store: Store, config: RBSRConfig = RBSRConfig()) throws {
        try config.validate()
        self.store = store
        self.config = config
        roundLimit = config.roundLimit(localCount: try store.count())
    }

    /// The first message. Everything up to this side's highest generation is split as usual;
    /// the tail above it is an empty IdList asking for everything newer (catch-up in one round trip).
    package mutating func initiate() throws -> [UInt8] {
        guard !started else { throw RBSRError.wrongState("session already started") }
        started = true
        var writer = RBSRMessageWriter(config: config)
        if let last = try store.last() {
            let head = RBSRRange(lower: .minimum, upper: RBSRBound(generation: last.generation + 1))
            if try split(head, count: store.count(), into: &writer) {
                try append(.init(upper: .infinity, mode: .idList(wantResponse: true, ids: [])), from: head.upper, into: &writer)
            }
        } else {
            try append(.init(upper: .infinity, mode: .idList(wantResponse: true, ids: [])), from: .minimum, into: &writer)
        }
        return sent(writer.bytes)
    }

    /// Processes the peer's message; returns the reply to send, or nil when the session is over.
    package mutating func receive(_ bytes: [UInt8]) throws -> [UInt8]? {
        guard !isComplete else { throw RBSRError.wrongState("message after the session completed") }
        started = true
        messagesReceived += 1
        bytesReceived += bytes.count
        guard messagesReceived <= roundLimit else {
            throw RBSRError.limitExceeded("more than \(roundLimit) messages in one session")
        }
        let message = try RBSRMessage(decoding: bytes, config: config)
        if message.isAllSkip {
            isComplete = true
            return nil
        }
        var writer = RBSRMessageWriter(config: config)
        var lower = RBSRBound.minimum
        for incoming in message.ranges {
            let range = RBSRRange(lower: lower, upper: incoming.upper)
            let keepGoing: Bool
            switch incoming.mode {
            case .skip:
                writer.skip(to: range.upper)
                keepGoing = true
            case .fingerprint(let theirs):
                keepGoing = try answerFingerprint(theirs, range, into: &writer)
            case .idList(let want, let ids):
                idsReceived += ids.count
                guard idsReceived <= config.maxTotalIDs else {
                    throw RBSRError.limitExceeded("more than \(config.maxTotalIDs) ids received in one session")
                }
                keepGoing = try answerIDList(ids, wantResponse: want, range, into: &writer)
            }
            if !keepGoing { break }
            lower = range.upper
        }
        if !writer.hasContent { isComplete = true }
        return sent(writer.bytes)
    }

    private mutating func sent(_ bytes: [UInt8]) -> [UInt8] {
        messagesSent += 1
        bytesSent += bytes.count
        return bytes
    }

    private func answerFingerprint(_ theirs: RBSRFingerprint, _ range: RBSRRange, into writer: inout RBSRMessageWriter) throws -> Bool {
        let count = try store.count(in: range)
        if try store.fingerprint(of: range) == theirs {
            writer.skip(to: range.upper)
            return true
        }
        if count == 0 {
            return try append(.init(upper: range.upper, mode: .idList(wantResponse: true, ids: [])), from: range.lower, into: &writer)
        }
        return try split(range, count: count, into: &writer)
    }

    /// Appends a range, or truncates at `lower` when it does not fit. Returns false if truncated.
    @discardableResult
    private func append(_ range: RBSRMessage.Range, from lower: RBSRBound, into writer: inout RBSRMessageWriter) throws -> Bool {
        if writer.tryAppend(range) { return true }
        writer.truncate(fingerprintOfRest: try store.fingerprint(of: RBSRRange(lower: lower, upper: .infinity)))
        return false
    }

    /// Split(range): an IdList when small, else b = clamp(⌈c/T⌉, 2, B) buckets of near-equal size
    /// cut at the shortest separating bounds, each a Fingerprint (> T items) or an IdList.
    private func split(_ range: RBSRRange, count c: Int, into writer: inout RBSRMessageWriter) throws -> Bool {
        let t = config.enumerateThreshold
        if c <= t {
            let ids = try store.items(in: range, offset: 0, limit: c).map(\.id)
            return try append(.init(upper: range.upper, mode: .idList(wantResponse: true, ids: ids)), from: range.lower, into: &writer)
        }
        let buckets = min(max((c + t - 1) / t, 2), config.branching)
        let base = c / buckets, extra = c % buckets
        var lower = range.lower
        var offset = 0
        for i in 0..<buckets {
            let size = base + (i < extra ? 1 : 0)
            let upper: RBSRBound
            if i == buckets - 1 {
                upper = range.upper
            } else {
                let pair = try store.items(in: range, offset: offset + size - 1, limit: 2)
                guard pair.count == 2 else { throw RBSRError.wrongState("item store changed during the session") }
                upper = RBSRBound.separating(pair[0], pair[1])
            }
            let bucket = RBSRRange(lower: lower, upper: upper)
            let mode: RBSRMessage.Mode =
                size > t
                ? .fingerprint(try store.fingerprint(of: bucket))
                : .idList(wantResponse: true, ids: try store.items(in: bucket, offset: 0, limit: size).map(\.id))
            guard try append(.init(upper: upper, mode: mode), from: lower, into: &writer) else { return false }
            lower = upper
            offset += size
        }
        return true
    }

    /// IdList handling: learn what we lack; if asked, answer with what the peer lacks (in as many
    /// messages as the frame limit requires).
    private mutating func answerIDList(
        _ theirs: [ObjectID], wantResponse: Bool, _ range: RBSRRange,
        into writer: inout RBSRMessageWriter
    ) throws -> Bool {
        let theirSet = Set(theirs)
        var found = Set<ObjectID>()
        var missing: [ObjectID] = []
        var cut: RBSRBound?
        let capacity = wantResponse ? min(writer.idCapacity(), config.idsPerListLimit) : 0
        var previous: RBSRItem?
        var offset = 0
        let page = 4096
        scan: while true {
            let items = try store.items(in: range, offset: offset, limit: page)
            for item in items {
                if theirSet.contains(item.id) {
                    found.insert(item.id)
                } else if wantResponse && cut == nil {
                    if missing.count == capacity {
                        cut = previous.map { RBSRBound.separating($0, item) } ?? range.lower
                    } else {
                        missing.append(item.id)
                    }
                }
                previous = item
                if (cut != nil || !wantResponse) && found.count == theirSet.count { break scan }
            }
            if items.count < page { break }
            offset += page
        }
        for id in theirSet where !found.contains(id) { need.insert(id) }

        guard wantResponse else {
            writer.skip(to: range.upper)
            return true
        }
        guard let cut else {
            if missing.isEmpty {
                writer.skip(to: range.upper)
                return true
            }
            guard try append(.init(upper: range.upper, mode: .idList(wantResponse: false, ids: missing)), from: range.lower, into: &writer)
            else {
                return false
            }
            have.formUnion(missing)
            return true
        }
        // Does not fit: send what fits for [lower, cut), then a Fingerprint over [cut, ∞).
        if missing.isEmpty {
            writer.truncate(fingerprintOfRest: try store.fingerprint(of: RBSRRange(lower: range.lower, upper: .infinity)))
            return false
        }
        guard try append(.init(upper: cut, mode: .idList(wantResponse: false, ids: missing)), from: range.lower, into: &writer) else {
            return false
        }
        have.formUnion(missing)
        writer.truncate(fingerprintOfRest: try store.fingerprint(of: RBSRRange(lower: cut, upper: .infinity)))
        return false
    }
}
