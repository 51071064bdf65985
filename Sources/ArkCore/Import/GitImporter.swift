import Foundation
import GRDB
import Glibc

/// Imports the history of a git repository (or a jj repository's git store) into a store:
/// every commit reachable from branches, tags and HEAD becomes an ark commit with the same
/// parents, signatures, message, jj change id and the git id as its source id. Git blobs and
/// trees already converted are looked up in the `git_objects` map, never converted twice.
///
/// Objects are read through `git cat-file --batch`, commits streamed from `git rev-list`, and
/// results published in batches: objects fsynced first, then one index transaction with the
/// commits and the map rows, so an interrupted import resumes where the last batch ended.
package final class GitImporter {
    package struct Stats: Sendable, Encodable {
        package var commitsImported = 0
        package var commitsSkipped = 0
        package var blobsConverted = 0
        package var treesConverted = 0
        package var headsMoved = 0
        package var headsDeleted = 0
        package var newBytesStored: UInt64 = 0
    }

    package let session: WriteSession
    package let source: String
    package let repoID: String
    /// Commits per index transaction.
    package var batchCommits = 500
    /// Publish early after this many new bytes.
    package var batchBytes: UInt64 = 64 << 20
    package var onProgress: (Stats) -> Void = { _ in }
    package var warn: (String) -> Void = { _ in }
    /// Asked between commits; when true, the commits imported so far are published (heads are
    /// not moved) and `run` throws `CancellationError`. A later run resumes from there.
    package var shouldStop: () -> Bool = { false }
    /// The refs to import instead of the source's branches, tags and HEAD (a push names them).
    package var refsOverride: [(name: String, hex: String)]?
    /// Whether the repo's heads follow the source's refs after the import (`ark import`); a
    /// push moves the one head it names itself.
    package var moveHeads = true
    package internal(set) var stats = Stats()

    private let node: ObjectID
    private var gitDir = ""
    var hashLength = 20
    var cat: GitCatFile!
    private var objectCache: [[UInt8]: (ObjectID, UInt64)] = [:]
    private var commitCache: [String: ObjectID] = [:]
    private var pendingObjects: [([UInt8], ObjectID, UInt64)] = []
    private var pendingCommits: [(ObjectID, Commit)] = []
    /// ark id -> git id of the objects converted and checked since the last publish.
    var pendingGitIDs: [(ObjectID, [UInt8])] = []
    /// Whether converted objects are checked to regenerate their git ids (SHA-1 repositories).
    var verifies: Bool { hashLength == 20 }
    private var bytesAtLastPublish: UInt64 = 0
    /// Heights of the trees converted since the last publish (not readable from the store yet).
    var unpublishedHeights: [ObjectID: Int] = [:]
    private static let cacheLimit = 1 << 20

    package init(session: WriteSession, source: String, repoID: String) {
        self.session = session
        self.source = source
        self.repoID = repoID
        self.node = session.repo.identity.endpointID
    }

    /// One import as `ark import` runs it: a write session (holding the store lock shared) for
    /// its duration, an importer set up by `configure`, and its statistics.
    package static func run(
        into repo: Repository, source: String, repoID: String, onWait: () -> Void = {},
        configure: (GitImporter) -> Void = { _ in }
    ) throws -> Stats {
        let session = try WriteSession(repo, onWait: onWait)
        let importer = GitImporter(session: session, source: source, repoID: repoID)
        configure(importer)
        return try importer.run()
    }

    /// The git directory behind `path`: a jj repository's backing store (colocated or not),
    /// or the repository (work tree or bare) git itself finds there.
    package static func gitDirectory(for path: String) throws -> String {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ArkError(.invalidArgument, "\(path) is not a directory")
        }
        let store = path + "/.jj/repo/store"
        if let target = try? String(contentsOfFile: store + "/git_target", encoding: .utf8) {
            let t = target.trimmingCharacters(in: .whitespacesAndNewlines)
            return ((t.hasPrefix("/") ? t : store + "/" + t) as NSString).standardizingPath
        }
        if fm.fileExists(atPath: store + "/git") { return store + "/git" }
        let out: [UInt8]
        do { out = try GitProcess.output(gitDir: nil, ["-C", path, "rev-parse", "--absolute-git-dir"]) } catch let e as ArkError {
            throw ArkError(.invalidArgument, "\(path) is not a git or jj repository", context: e.message)
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    package func run() throws -> Stats {
        signal(SIGPIPE, SIG_IGN)
        gitDir = try Self.gitDirectory(for: source)
        let format = String(decoding: try GitProcess.output(gitDir: gitDir, ["rev-parse", "--show-object-format"]), as: UTF8.self)
        hashLength = format.hasPrefix("sha256") ? 32 : 20
        let refs = try refsOverride.map { $0.map { Ref(name: $0.name, hex: $0.hex) } } ?? readRefs()
        cat = try GitCatFile(gitDir: gitDir)
        bytesAtLastPublish = session.newBytesStored

        // Commits under this repo's imported heads are complete (parents go first), so the
        // walk stops there; anything else already imported is skipped one by one.
        // Only commits that keep their git bytes count: older imports are imported again.
        let known = try session.repo.index.heads(repo: repoID).filter { $0.ref.owner == node }
            .compactMap { h -> String? in
                guard try session.repo.index.commit(h.commit)?.sourceID != nil else { return nil }
                let c = try session.repo.commit(h.commit)
                return c.gitRaw == nil ? nil : c.sourceID
            }
        let walk = try GitProcess(gitDir: gitDir, ["rev-list", "--topo-order", "--reverse", "--parents", "--ignore-missing", "--stdin"])
        var request = Set(refs.map(\.hex)).sorted().joined(separator: "\n") + "\n"
        for k in known { request += "^" + k + "\n" }
        if !refs.isEmpty {
            try walk.write(Array(request.utf8))
        }
        try walk.closeInput()
        while let line = try walk.readLine() {
            guard let first = line.split(separator: 0x20).first else { continue }
            let hex = String(decoding: first, as: UTF8.self)
            if try commitID(hex) != nil { stats.commitsSkipped += 1; continue }
            if shouldStop() { try publish(); throw CancellationError() }
            try importCommit(hex)
            stats.commitsImported += 1
            onProgress(stats)
            if pendingCommits.count >= batchCommits || session.newBytesStored - bytesAtLastPublish >= batchBytes { try publish() }
        }
        try walk.finish()
        try publish(heads: moveHeads ? refs : nil)
        stats.newBytesStored = session.newBytesStored
        onProgress(stats)
        return stats
    }

    struct Ref { var name: String; var hex: String }

    /// Branches (and jj bookmarks) by name, tags as `tags/<name>`, HEAD as the main head "".
    private func readRefs() throws -> [Ref] {
        let fmt = "%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)"
        let out = try GitProcess.output(gitDir: gitDir, ["for-each-ref", "--format=" + fmt, "refs/heads", "refs/tags"])
        var refs: [Ref] = []
        for line in out.split(separator: 0x0a) {
            let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard parts.count == 3 else { continue }
            // "<id> <type> <peeled id> <peeled type> <refname>"; the peeled fields are empty for non-tags.
            let rest = parts[2].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            let (hex, refname): (String, String)
            if parts[1] == "commit", rest.count == 3 {
                (hex, refname) = (parts[0], rest[2])
            } else if parts[1] == "tag", rest.count == 3, rest[1] == "commit" {
                (hex, refname) = (rest[0], rest[2])
            } else {
                warn("skipping \(rest.last ?? parts[0]): not a commit"); continue
            }
            let name = refname.hasPrefix("refs/heads/") ? String(refname.dropFirst(11)) : "tags/" + refname.dropFirst(10)
            guard !name.contains("@"), !name.contains(":") else {
                warn("skipping \(refname): '@' and ':' cannot appear in a head name"); continue
            }
            refs.append(Ref(name: name, hex: hex))
        }
        if let head = try? GitProcess.output(gitDir: gitDir, ["rev-parse", "-q", "--verify", "HEAD^{commit}"]) {
            let hex = String(decoding: head, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !hex.isEmpty { refs.append(Ref(name: "", hex: hex)) }
        }
        return refs
    }

    /// The ark commit imported from git commit `hex` that keeps its git bytes, if any.
    package func commitID(_ hex: String) throws -> ObjectID? {
        if let id = commitCache[hex] { return id }
        let node = self.node
        if verifies, let raw = HexCodec.decode(hex),
            let id = try session.repo.index.read({ db in try Index.commit(db, gitID: raw, node: node) })
        {
            remember(commit: hex, id)
            return id
        }
        guard let id = try session.repo.index.read({ db in try Index.commit(db, sourceID: hex, node: node) }) else { return nil }
        if verifies {
            guard try session.repo.commit(id).gitRaw != nil else { return nil }
        }
        remember(commit: hex, id)
        return id
    }

    private func remember(commit hex: String, _ id: ObjectID) {
        if commitCache.count >= Self.cacheLimit { commitCache.removeAll() }
        commitCache[hex] = id
    }

    func mapped(_ gitID: [UInt8]) throws -> (ObjectID, UInt64)? {
        if let m = objectCache[gitID] { return m }
        guard let m = try session.repo.index.read({ db in try Index.gitObject(db, gitID) }) else { return nil }
        remember(gitID, m.id, m.size, new: false)
        return m
    }

    func remember(_ gitID: [UInt8], _ id: ObjectID, _ size: UInt64, new: Bool) {
        if objectCache.count >= Self.cacheLimit { objectCache.removeAll() }
        objectCache[gitID] = (id, size)
        if new { pendingObjects.append((gitID, id, size)) }
    }

    private func importCommit(_ hex: String) throws {
        let g = try GitCommit(parsing: try cat.object(hex, type: "commit"), id: hex)
        guard let treeRaw = HexCodec.decode(g.tree), treeRaw.count == hashLength else {
            throw ArkError(.malformed, "git commit \(hex): bad tree id '\(g.tree)'")
        }
        let (tree, _) = try convertTree(treeRaw, commit: hex)
        var parents: [ObjectID] = []
        for p in g.parents {
            guard let id = try commitID(p) else {
                throw ArkError(.missing, "parent \(p) of git commit \(hex) is not in the repository (shallow clone?)")
            }
            parents.append(id)
        }
        guard g.raw.starts(with: Array("author ".utf8)) else {
            throw ArkError(.unsupported, "git commit \(hex): a header between its parents and its author line cannot be kept")
        }
        guard g.message.utf8.count <= ObjectLimits.maxMessageBytes, g.raw.count <= ObjectLimits.maxGitCommitBytes else {
            throw ArkError(.unsupported, "git commit \(hex): message longer than \(ObjectLimits.maxMessageBytes) bytes")
        }
        for s in [g.author, g.committer]
        where s.name.utf8.count > ObjectLimits.maxPersonBytes || s.email.utf8.count > ObjectLimits.maxPersonBytes {
            throw ArkError(.unsupported, "git commit \(hex): author or committer longer than \(ObjectLimits.maxPersonBytes) bytes")
        }
        let commit = Commit(
            tree: tree, parents: parents, author: g.author, committer: g.committer, message: g.message,
            changeID: g.changeID, sourceID: hex, node: node, gitRaw: g.raw)
        // The check on the way in: the git form of what is stored must hash to the original id.
        if verifies {
            let parentIDs = g.parents.compactMap { HexCodec.decode($0) }
            let form = commit.gitForm(tree: treeRaw, parents: parentIDs)
            let regenerated = GitSHA1.objectID(.commit, form)
            guard parentIDs.count == g.parents.count, let original = HexCodec.decode(hex), regenerated == original else {
                throw ArkError(
                    .unsupported, "git commit \(hex) would not round-trip (its git form hashes to \(HexCodec.encode(regenerated)))")
            }
        }
        let id = try session.put(.commit, commit.encoded())
        if verifies, let original = HexCodec.decode(hex) { pendingGitIDs.append((id, original)) }
        pendingCommits.append((id, commit))
        remember(commit: hex, id)
    }

    /// Makes the batch durable and records its commits and map rows in one transaction;
    /// with `heads`, also moves the repo's heads to the source's refs.
    private func publish(heads refs: [Ref]? = nil) throws {
        let objects = pendingObjects, commits = pendingCommits, gitIDs = pendingGitIDs
        let repoID = self.repoID, node = self.node, cause = "import \(source)"
        let now = Int64(Date().timeIntervalSince1970)
        var moved = 0, deleted = 0
        var targets: [String: ObjectID] = [:]
        if let refs { for r in refs { targets[r.name] = try commitID(r.hex) } }
        try session.publish { db in
            for (git, id, size) in objects { try Index.insertGitObject(db, git, id: id, size: size) }
            for (id, c) in commits { try Index.insertCommit(db, id: id, c) }
            for (id, git) in gitIDs { try Index.insertGitID(db, id, git) }
            guard refs != nil else { return }
            for (name, id) in targets.sorted(by: { $0.key < $1.key }) {
                let ref = HeadRef(repo: repoID, owner: node, name: name)
                let current = try Index.head(db, ref)
                guard current != id else { continue }
                try Index.setHead(db, ref, to: id, expected: current, actor: node, cause: cause, time: now)
                moved += 1
            }
            // Branches and tags deleted in the source go away here too (imported heads only).
            let existing = try Row.fetchAll(
                db,
                sql: """
                    SELECT h.name, h.commit_id FROM heads h JOIN commits c ON c.id = h.commit_id
                    WHERE h.repo = ? AND h.owner = ? AND h.name != '' AND c.source_id IS NOT NULL
                    """, arguments: [repoID, node])
            for row in existing {
                let name: String = row[0]
                guard targets[name] == nil else { continue }
                try Index.setHead(
                    db, HeadRef(repo: repoID, owner: node, name: name), to: nil, expected: row[1], actor: node, cause: cause, time: now)
                deleted += 1
            }
        }
        stats.headsMoved += moved; stats.headsDeleted += deleted
        pendingObjects.removeAll(keepingCapacity: true)
        pendingCommits.removeAll(keepingCapacity: true)
        pendingGitIDs.removeAll(keepingCapacity: true)
        unpublishedHeights.removeAll(keepingCapacity: true)
        bytesAtLastPublish = session.newBytesStored
    }
}
