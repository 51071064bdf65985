/// Turns a revision string into a commit id:
/// - a full 64-hex id, or a unique hex prefix of at least 4 characters;
/// - an imported git commit id (`source_id`), full or a unique prefix of at least 4 characters;
/// - a head: `repo` (this node's main head), `repo/name`, `repo@peer`, `repo/name@peer`, where
///   peer is a remote's name from ark.toml or a node id;
/// - a jj change id (letters k-z), full or unique prefix.
package struct RevisionResolver: Sendable {
    package let repo: Repository
    /// Remote names from configuration, to node ids.
    package let peers: [String: ObjectID]

    package init(repo: Repository, peers: [String: ObjectID] = [:]) {
        self.repo = repo
        self.peers = peers
    }

    /// Splits `rev:path` (the path may be empty).
    package static func split(_ spec: String) -> (rev: String, path: String) {
        guard let colon = spec.firstIndex(of: ":") else { return (spec, "") }
        return (String(spec[..<colon]), String(spec[spec.index(after: colon)...]))
    }

    package func resolve(_ rev: String) throws -> ObjectID {
        guard !rev.isEmpty else { throw ArkError(.invalidArgument, "empty revision") }
        if let ref = try headRef(rev) {
            guard let id = try repo.index.head(ref) else {
                throw ArkError(.notFound, "head \(rev) has no commits yet")
            }
            return id
        }
        let lower = rev.lowercased()
        if HexCodec.isHex(lower) && lower.count >= 4 && lower.count <= 64 {
            // An ark commit id, or the id of an imported git commit.
            var found = try repo.index.commits(withPrefix: lower, limit: 10)
            for source in try repo.index.sourceIDs(withPrefix: lower, limit: 10) {
                if let id = try repo.index.commit(sourceID: source, node: repo.identity.endpointID), !found.contains(id) {
                    found.append(id)
                }
            }
            if found.count == 1 { return found[0] }
            if found.count > 1 {
                throw ArkError(
                    .ambiguous,
                    "revision '\(rev)' is ambiguous: \(found.prefix(10).map(\.short).joined(separator: ", "))\(found.count >= 10 ? ", ..." : "")"
                )
            }
        }
        if rev.utf8.allSatisfy({ $0 >= 0x6b && $0 <= 0x7a }) && rev.count >= 4 {
            let found = Set(try repo.index.commits(changeIDPrefix: rev))
            if found.count == 1 { return found.first! }
            if found.count > 1 {
                throw ArkError(
                    .ambiguous, "change id '\(rev)' names \(found.count) commits: \(found.map(\.short).sorted().joined(separator: ", "))")
            }
        }
        throw ArkError(.notFound, "unknown revision '\(rev)'")
    }

    /// The head a name denotes, if it has the form of one and its repo is known.
    package func headRef(_ rev: String) throws -> HeadRef? {
        var body = Substring(rev)
        var owner = repo.identity.endpointID
        if let at = rev.firstIndex(of: "@") {
            let peer = String(rev[rev.index(after: at)...])
            body = rev[..<at]
            if let id = peers[peer] {
                owner = id
            } else if let id = ObjectID(hex: peer) {
                owner = id
            } else if peer == "local" || peer == "self" {
            } else {
                throw ArkError(.notFound, "unknown peer '\(peer)' in '\(rev)' (not a remote in ark.toml nor a node id)")
            }
        }
        let parts = body.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let repoID = String(parts[0])
        let name = parts.count > 1 ? String(parts[1]) : ""
        guard !repoID.isEmpty else { return nil }
        let known = try repo.index.heads(repo: repoID)
        if known.isEmpty && !rev.contains("@") && !rev.contains("/") { return nil }
        if known.isEmpty { throw ArkError(.notFound, "repo '\(repoID)' has no heads in this store") }
        return HeadRef(repo: repoID, owner: owner, name: name)
    }
}
