import Foundation
import GRDB

/// Storing objects fetched from peers: each is hashed and compared with the id it was
/// requested as, and history is published only once its metadata closure is durable.
extension WriteSession {
    /// Stores `bytes` as an object of `kind` only if they hash to `id`; returns false (storing
    /// nothing) when they do not.
    public func putVerified(_ id: ObjectID, _ kind: ObjectKind, _ bytes: [UInt8]) throws -> Bool {
        guard ObjectHasher.hash(kind, bytes) == id else { return false }
        try put(kind, bytes)
        return true
    }

    /// fsyncs everything written, then in one index transaction records `commits` (parents
    /// before children; their trees, manifests and parents must already be stored), the
    /// chunks known but not stored, and optionally moves `head` to `target`.
    public func publishFetched(commits: [(ObjectID, Commit)], absentChunks: [(id: ObjectID, kind: ObjectKind, rawLength: Int)],
                               head: HeadRef?, target: ObjectID?, cause: String) throws {
        let actor = repo.identity.endpointID
        try publish { db in
            try Index.insertAbsent(db, absentChunks)
            for (id, c) in commits { try Index.insertCommit(db, id: id, c) }
            if let head, let target {
                let current = try Index.head(db, head)
                try Index.setHead(db, head, to: target, expected: current, actor: actor, cause: cause, time: Int64(Date().timeIntervalSince1970))
            }
        }
    }
}
