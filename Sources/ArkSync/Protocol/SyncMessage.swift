import ArkCore

/// One object in a get-objects response.
package struct WireObject: Equatable, Sendable {
    package var id: ObjectID
    package var kind: ObjectKind
    package var bytes: [UInt8]

    package init(id: ObjectID, kind: ObjectKind, bytes: [UInt8]) { self.id = id; self.kind = kind; self.bytes = bytes }
}

/// Limits every decoder enforces (a hostile peer cannot make us allocate beyond them).
package enum SyncLimits {
    /// Ids in one get-objects request.
    package static let maxObjectsPerRequest = 1024
    /// A get-objects response stops adding objects past this many bytes (a single object larger
    /// than this is still sent alone).
    package static let responseBudget = 8 << 20
    /// Largest object accepted (the chunk limit; trees and commits are smaller in practice).
    package static let maxObjectBytes = ObjectLimits.maxChunkSize
    /// Announcements in one get-heads response.
    package static let maxHeads = 4096
    /// One reconciliation message.
    package static let maxReconcileBytes = 1 << 20
}

/// Requests (sent with `PeerConnection.request`). Wire: version(1) ‖ type ‖ body.
package enum SyncRequest: Equatable, Sendable {
    /// A range-based reconciliation message for `repo`; `start` begins a new session on the
    /// responder (replacing any previous one for this repo on this connection).
    case reconcile(repo: String, start: Bool, message: [UInt8])
    case getObjects([ObjectID])
    case getHeads(repo: String)
}

/// Responses, matched to the request type.
package enum SyncResponse: Equatable, Sendable {
    /// The responder's reply, or nil when its session completed (the request was all Skip).
    case reconcile([UInt8]?)
    /// The objects the responder has and may serve, in request order; missing ones are left out.
    case objects([WireObject])
    /// The signed announcements the responder holds for the repo (its own and other writers').
    case heads([HeadAnnouncement])
}

/// One-way messages (sent with `PeerConnection.notify`).
package enum SyncNotification: Equatable, Sendable {
    case announce(HeadAnnouncement)
}

enum WireType: UInt8 {
    case announce = 0x01
    case reconcile = 0x10, getObjects = 0x11, getHeads = 0x12
    case reconcileReply = 0x20, objects = 0x21, heads = 0x22
}

let wireVersion: UInt8 = 1

private func header(_ r: inout WireReader, _ allowed: [WireType]) throws -> WireType {
    let v = try r.u8("version")
    guard v == wireVersion else { throw r.fail("unsupported version \(v)") }
    let raw = try r.u8("message type")
    guard let t = WireType(rawValue: raw), allowed.contains(t) else { throw r.fail("unexpected message type \(raw)") }
    return t
}

private func start(_ t: WireType) -> WireWriter {
    var w = WireWriter()
    w.u8(wireVersion); w.u8(t.rawValue)
    return w
}

extension SyncRequest {
    package var encoded: [UInt8] {
        switch self {
        case .reconcile(let repo, let s, let message):
            var w = start(.reconcile); w.string(repo); w.u8(s ? 1 : 0); w.data(message); return w.bytes
        case .getObjects(let ids):
            var w = start(.getObjects); w.varint(UInt64(ids.count)); ids.forEach { w.id($0) }; return w.bytes
        case .getHeads(let repo):
            var w = start(.getHeads); w.string(repo); return w.bytes
        }
    }

    package init(decoding bytes: [UInt8]) throws {
        var r = WireReader(bytes, what: "request")
        switch try header(&r, [.reconcile, .getObjects, .getHeads]) {
        case .reconcile:
            let repo = try r.string("repo", max: HeadAnnouncement.maxRepoBytes)
            let s = try r.bool("start")
            self = .reconcile(repo: repo, start: s, message: try r.data("reconcile message", max: SyncLimits.maxReconcileBytes))
        case .getObjects:
            let n = try r.count("object count", max: SyncLimits.maxObjectsPerRequest)
            self = .getObjects(try (0..<n).map { _ in try r.id("object id") })
        default:
            self = .getHeads(repo: try r.string("repo", max: HeadAnnouncement.maxRepoBytes))
        }
        try r.finish()
    }
}

extension SyncResponse {
    package var encoded: [UInt8] {
        switch self {
        case .reconcile(let reply):
            var w = start(.reconcileReply)
            if let reply { w.u8(1); w.data(reply) } else { w.u8(0) }
            return w.bytes
        case .objects(let objects):
            var w = start(.objects); w.varint(UInt64(objects.count))
            for o in objects { w.id(o.id); w.u8(o.kind.rawValue); w.data(o.bytes) }
            return w.bytes
        case .heads(let heads):
            var w = start(.heads); w.varint(UInt64(heads.count))
            for h in heads { w.data(h.encoded) }
            return w.bytes
        }
    }

    package init(decoding bytes: [UInt8]) throws {
        var r = WireReader(bytes, what: "response")
        switch try header(&r, [.reconcileReply, .objects, .heads]) {
        case .reconcileReply:
            self = .reconcile(try r.bool("reply flag") ? try r.data("reconcile message", max: SyncLimits.maxReconcileBytes) : nil)
        case .objects:
            let n = try r.count("object count", max: SyncLimits.maxObjectsPerRequest)
            var objects: [WireObject] = []
            var total = 0
            for _ in 0..<n {
                let id = try r.id("object id")
                let k = try r.u8("object kind")
                guard let kind = ObjectKind(rawValue: k) else { throw r.fail("unknown object kind \(k)") }
                let body = try r.data("object bytes", max: SyncLimits.maxObjectBytes)
                if !objects.isEmpty && total + body.count > SyncLimits.responseBudget { throw r.fail("objects exceed the response budget") }
                total += body.count
                objects.append(WireObject(id: id, kind: kind, bytes: body))
            }
            self = .objects(objects)
        default:
            let n = try r.count("head count", max: SyncLimits.maxHeads)
            var heads: [HeadAnnouncement] = []
            for _ in 0..<n {
                let body = try r.data("announcement", max: 1024)
                var inner = WireReader(body, what: "head announcement")
                heads.append(try HeadAnnouncement(reading: &inner))
                try inner.finish()
            }
            self = .heads(heads)
        }
        try r.finish()
    }
}

extension SyncNotification {
    package var encoded: [UInt8] {
        switch self {
        case .announce(let a): var w = start(.announce); w.raw(a.encoded); return w.bytes
        }
    }

    package init(decoding bytes: [UInt8]) throws {
        var r = WireReader(bytes, what: "notification")
        _ = try header(&r, [.announce])
        let a = try HeadAnnouncement(reading: &r)
        try r.finish()
        self = .announce(a)
    }
}
