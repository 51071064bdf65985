import ArkCore
import Foundation

/// Writes to a store through ArkCore in the test process, beside `ark` processes: for layouts
/// the CLI cannot make on purpose, such as commits no head reaches (garbage for gc) sharing a
/// pack with live data.
enum DirectWrites {
    /// In one write session (one pack), snapshots each directory and commits it: moving head
    /// `repo` when given, else as a commit no head reaches. Returns the commit ids (hex).
    static func commit(store: String, packStorage: (any PackStorage)? = nil, _ items: [(dir: String, repo: String?)]) throws -> [String] {
        let repo = try Repository(path: store, packStorage: packStorage)
        let session = try WriteSession(repo)
        var ids: [String] = []
        let sig = Commit.Signature(
            name: "Test User", email: "test@example.org", time: Int64(Date().timeIntervalSince1970), tzOffsetMinutes: 0)
        for item in items {
            var snapshot = Snapshot(session: session, root: item.dir)
            let (tree, _) = try snapshot.run()
            let head = item.repo.map { HeadRef(repo: $0, owner: repo.identity.endpointID) }
            let parent = try head.flatMap { try repo.index.head($0) }
            let commit = Commit(
                tree: tree, parents: parent.map { [$0] } ?? [], author: sig, committer: sig,
                message: item.repo == nil ? "unreachable" : "direct", node: repo.identity.endpointID)
            ids.append(try session.commit(commit, head: head, expected: parent, cause: "test").hex)
        }
        return ids
    }
}
