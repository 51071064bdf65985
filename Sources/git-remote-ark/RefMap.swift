import ArkCore

/// How ark heads appear as git refs (documented in README "git-remote-ark"):
///
/// - this node's `<repo>/<name>` is `refs/heads/<name>`, `<repo>/tags/<t>` is `refs/tags/<t>`;
/// - this node's main head `<repo>` is git's `HEAD`: a symbolic ref to the branch at the same
///   commit (`main` preferred), else to `refs/heads/main` standing for it when the repo has no
///   head named `main`, else a detached `HEAD`;
/// - a peer's heads the same way under `refs/heads/peers/<peer>/` and `refs/tags/peers/<peer>/`,
///   `<peer>` being the remote's name in ark.toml or the first 12 hex digits of its node id;
///   a peer's main head is `peers/<peer>/main` (or `peers/<peer>/HEAD` if it also has a `main`).
struct RefMap {
    struct Advertised {
        var ref: String
        var commit: ObjectID
        var head: HeadRef
    }

    var refs: [Advertised] = []
    /// The symbolic target of HEAD, or nil when HEAD is detached (or absent).
    var headSymref: String?
    /// The main head's commit, when there is one.
    var headCommit: ObjectID?

    init(heads: [Head], local: ObjectID, peerName: (ObjectID) -> String) {
        let own = heads.filter { $0.ref.owner == local }
        let names = Set(own.map(\.ref.name))
        for h in own where !h.ref.name.isEmpty { refs.append(Advertised(ref: Self.gitRef(h.ref.name), commit: h.commit, head: h.ref)) }
        if let main = own.first(where: { $0.ref.name.isEmpty }) {
            headCommit = main.commit
            let branches = refs.filter { $0.ref.hasPrefix("refs/heads/") && $0.commit == main.commit }.map(\.ref)
            if branches.contains("refs/heads/main") {
                headSymref = "refs/heads/main"
            } else if !names.contains("main") {
                refs.append(Advertised(ref: "refs/heads/main", commit: main.commit, head: main.ref))
                headSymref = "refs/heads/main"
            } else if let first = branches.sorted().first {
                headSymref = first
            }
        }
        var byPeer: [ObjectID: [Head]] = [:]
        for h in heads where h.ref.owner != local { byPeer[h.ref.owner, default: []].append(h) }
        for (peer, hs) in byPeer {
            let prefix = "peers/" + peerName(peer) + "/"
            let peerNames = Set(hs.map(\.ref.name))
            for h in hs {
                let name = h.ref.name.isEmpty ? (peerNames.contains("main") ? "HEAD" : "main") : h.ref.name
                let ref = name.hasPrefix("tags/") ? "refs/tags/" + prefix + name.dropFirst(5) : "refs/heads/" + prefix + name
                refs.append(Advertised(ref: ref, commit: h.commit, head: h.ref))
            }
        }
        refs.sort { $0.ref < $1.ref }
    }

    /// `name` (a head name of this node) as a git ref.
    static func gitRef(_ name: String) -> String {
        name.hasPrefix("tags/") ? "refs/tags/" + name.dropFirst(5) : "refs/heads/" + name
    }

    /// The head name a pushed git ref moves: `refs/heads/<b>` -> `<b>`, `refs/tags/<t>` ->
    /// `tags/<t>`; nil for anything else (peers' namespaces are theirs, not pushable).
    static func headName(forPush ref: String) -> String? {
        let name: String
        if ref.hasPrefix("refs/heads/") {
            name = String(ref.dropFirst(11))
            // `tags/<t>` is the head a tag maps to: a branch of that name would overwrite it.
            if name.hasPrefix("tags/") { return nil }
        } else if ref.hasPrefix("refs/tags/") {
            name = "tags/" + ref.dropFirst(10)
        } else {
            return nil
        }
        guard !name.isEmpty, !name.hasPrefix("peers/"), !name.contains("@"), !name.contains(":") else { return nil }
        return name
    }
}
