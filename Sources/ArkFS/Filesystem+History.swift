import ArkCore
import Foundation

/// The history browser:
///   repos/<repo>/heads/<name>   symlink -> ../../../commits/<id>
///   repos/<repo>/log/<NNNNN>-<UTC time>-<short id>   symlink, oldest = 00001
///   repos/<repo>/at/<time>/     lookup-only: the head's tree as of that moment
///   repos/<repo>/versions/<path>/   every distinct content a file had
///   commits/<id or prefix>/     lookup-only (lists README.txt)
///   changes/<jj change id>/     lookup-only
extension Filesystem {
    static let commitsReadme = """
        Every commit of this store is a directory here, found by lookup only (ls shows just this
        file, so find and backup tools do not walk all of history):

            cd commits/<full commit id or a unique prefix of at least 4 hex characters>

        See also ../repos/<repo>/heads, log, at/<time> and versions/, and ../changes/<jj change id>.

        """

    func browserChildren(of v: Node.Virtual) throws -> [(FileName, Node)] {
        switch v {
        case .versionsDir(let r, let path):
            guard let head = try mainHead(r), let root = try commitRoot(head),
                let dir = try resolve(path: path, from: root), case .entry(let e) = dir, e.kind == .directory
            else { return [] }
            return try tree(e.id!).entries.compactMap { child in
                let p = path + [child.name]
                switch child.kind {
                case .directory: return (child.name, .virtual(.versionsDir(repo: r, path: p)))
                case .file, .executable: return (child.name, .virtual(.versionsFile(repo: r, path: p)))
                default: return nil
                }
            }
        case .versionsFile(let r, let path):
            return try versions(repo: r, path: path)
        default:
            return try textChildren(of: v).map { (FileName($0.0), $0.1) }
        }
    }

    /// The browser's directories whose names are text (repos, heads, log, ...).
    private func textChildren(of v: Node.Virtual) throws -> [(String, Node)] {
        switch v {
        case .root:
            return [("changes", .virtual(.changes)), ("commits", .virtual(.commits)), ("repos", .virtual(.repos))]
        case .repos:
            let repos = Set(try source.heads(repo: nil).map(\.ref.repo)).union(options.declaredRepos)
            return repos.sorted().map { ($0, .virtual(.repo($0))) }
        case .repo(let r):
            return [
                ("at", .virtual(.at(r))), ("heads", .virtual(.heads(r))), ("log", .virtual(.log(r))),
                ("versions", .virtual(.versionsDir(repo: r, path: [])))
            ]
        case .heads(let r):
            return try source.heads(repo: r).map { (headName($0.ref), .link(target: "../../../commits/\($0.commit.hex)")) }
        case .log(let r):
            let history = try source.history(from: try source.heads(repo: r).map(\.commit), limit: nil).reversed()
            return history.enumerated().map { i, c in
                (
                    String(format: "%05d-%@-%@", i + 1, Self.compactUTC(c.committerTime), c.id.short),
                    .link(target: "../../../commits/\(c.id.hex)")
                )
            }
        case .at, .changes, .versionsDir, .versionsFile:
            return []
        case .commits:
            return [("README.txt", .text(Self.commitsReadme))]
        }
    }

    func browserChild(of v: Node.Virtual, named fileName: FileName) throws -> Node? {
        switch v {
        case .versionsDir, .versionsFile:
            return try browserChildren(of: v).first { $0.0 == fileName }?.1
        default:
            break
        }
        guard let name = fileName.string else { return nil }
        switch v {
        case .at(let r):
            guard let t = Self.parseTime(name), let head = try mainHead(r), let c = try commit(asOf: t, from: head) else { return nil }
            return try commitRoot(c)
        case .commits:
            if name == "README.txt" { return .text(Self.commitsReadme) }
            let lower = name.lowercased()
            guard lower.count >= 4, lower.count <= 64, HexCodec.isHex(lower) else { return nil }
            let found = try source.commits(withPrefix: lower, limit: 2)
            guard found.count == 1 else { return nil }
            return try commitRoot(found[0])
        case .changes:
            guard name.count >= 4, name.utf8.allSatisfy({ $0 >= 0x6b && $0 <= 0x7a }) else { return nil }
            let found = try source.commits(changeID: name)
            guard let newest = try found.compactMap({ try source.commitSummary($0) }).max(by: { $0.generation < $1.generation }) else {
                return nil
            }
            return try commitRoot(newest.id)
        default:
            return try textChildren(of: v).first { $0.0 == name }?.1
        }
    }

    /// `heads/` names: this node's main head is the repo id, named heads their name; a peer's
    /// heads get `@<peer name or node id>`. A '/' in a head name is written '%2F'.
    func headName(_ ref: HeadRef) -> String {
        let base = (ref.name.isEmpty ? ref.repo : ref.name).replacingOccurrences(of: "%", with: "%25").replacingOccurrences(
            of: "/", with: "%2F")
        if ref.owner == source.localNode { return base }
        return "\(base)@\(source.peerName(ref.owner) ?? ref.owner.hex)"
    }

    /// The head `at/` and `versions/` follow: this node's main head, else the newest head.
    func mainHead(_ repo: String) throws -> ObjectID? {
        let heads = try source.heads(repo: repo)
        if let own = heads.first(where: { $0.ref.owner == source.localNode && $0.ref.name.isEmpty }) { return own.commit }
        return heads.max(by: { $0.updated < $1.updated })?.commit
    }

    /// The newest commit on the first-parent chain from `head` made at or before `t`.
    func commit(asOf t: Int64, from head: ObjectID) throws -> ObjectID? {
        var cursor: ObjectID? = head
        while let id = cursor, let c = try source.commitSummary(id) {
            if c.committerTime <= t { return id }
            cursor = c.parents.first
        }
        return nil
    }

    private func resolve(path: [FileName], from root: Node) throws -> Node? {
        var node = root
        for part in path {
            guard let next = try child(of: node, named: part, parentIno: 0) else { return nil }
            node = next
        }
        return node
    }

    /// Every distinct content of `path` along the first-parent history, oldest first, named
    /// `<stem>.<n>.<ext>` (the name's bytes split at its last '.', which is not its first byte).
    func versions(repo: String, path: [FileName]) throws -> [(FileName, Node)] {
        guard let head = try mainHead(repo), let name = path.last?.bytes else { return [] }
        var chain: [ObjectID] = []
        var cursor: ObjectID? = head
        while let id = cursor, let c = try source.commitSummary(id) { chain.append(id); cursor = c.parents.first }
        var out: [(FileName, Node)] = []
        var last: ObjectID?
        let dot = name.lastIndex(of: 0x2e).flatMap { $0 == 0 ? nil : $0 }
        let stem = dot.map { Array(name[..<$0]) } ?? name
        let ext = dot.map { Array(name[$0...]) } ?? []
        for id in chain.reversed() {
            guard let root = try commitRoot(id), let node = try resolve(path: path, from: root),
                case .entry(let e) = node, e.kind == .file || e.kind == .executable
            else { continue }
            if e.id == last { continue }
            last = e.id
            out.append((FileName(bytes: stem + Array(".\(out.count + 1)".utf8) + ext), node))
        }
        return out
    }

    /// 20261121T100000Z
    static func compactUTC(_ t: Int64) -> String {
        var secs = time_t(t)
        var tmv = tm()
        gmtime_r(&secs, &tmv)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
            Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec))
    }

    /// Accepts unix seconds, 2026-11-21 (00:00 UTC), 2026-11-21T10:00Z, 2026-11-21T10:00:00Z,
    /// and a numeric offset instead of Z (+01:00 or +0100).
    static func parseTime(_ s: String) -> Int64? {
        if !s.isEmpty, s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber) { return Int64(s) }
        let parts = s.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let ymd = parts[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard ymd.count == 3, let y = ymd[0], let mo = ymd[1], let d = ymd[2], parts[0].count == 10,
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var tmv = tm()
        tmv.tm_year = Int32(y - 1900); tmv.tm_mon = Int32(mo - 1); tmv.tm_mday = Int32(d)
        let day = Int64(timegm(&tmv))
        guard parts.count == 2 else { return day }
        var rest = parts[1]
        var offset = 0
        if rest.hasSuffix("Z") {
            rest = rest.dropLast()
        } else if let i = rest.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let o = rest[rest.index(after: i)...].replacingOccurrences(of: ":", with: "")
            guard o.count == 4, let v = Int(o) else { return nil }
            offset = (v / 100 * 60 + v % 100) * 60 * (rest[i] == "-" ? -1 : 1)
            rest = rest[..<i]
        } else {
            return nil
        }
        let hms = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(hms.count), hms.allSatisfy({ $0 != nil }), hms[0]! < 24, hms[1]! < 60, hms.count == 2 || hms[2]! < 61 else {
            return nil
        }
        return day + Int64(hms[0]! * 3600 + hms[1]! * 60 + (hms.count == 3 ? hms[2]! : 0) - offset)
    }
}
