import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Imports the history of a git repository (or a jj repository's git store) into a store:
/// every commit reachable from branches, tags and HEAD becomes an ark commit with the same
/// parents, signatures, message, jj change id and the git id as its source id. Git blobs and
/// trees already converted are looked up in the `git_objects` map, never converted twice.
///
/// Objects are read through `git cat-file --batch`, commits streamed from `git rev-list`, and
/// results published in batches: objects fsynced first, then one index transaction with the
/// commits and the map rows, so an interrupted import resumes where the last batch ended.
public final class GitImporter {
    public struct Stats: Sendable, Encodable {
        public var commitsImported = 0
        public var commitsSkipped = 0
        public var blobsConverted = 0
        public var treesConverted = 0
        public var headsMoved = 0
        public var headsDeleted = 0
        public var newBytesStored: UInt64 = 0
    }

    public let session: WriteSession
    public let source: String
    public let repoID: String
    /// Commits per index transaction.
    public var batchCommits = 500
    /// Publish early after this many new bytes.
    public var batchBytes: UInt64 = 64 << 20
    public var onProgress: (Stats) -> Void = { _ in }
    public var warn: (String) -> Void = { _ in }
    /// Asked between commits; when true, the commits imported so far are published (heads are
    /// not moved) and `run` throws `CancellationError`. A later run resumes from there.
    public var shouldStop: () -> Bool = { false }
    public private(set) var stats = Stats()

    private let node: ObjectID
    private var gitDir = ""
    private var hashLength = 20
    private var cat: GitCatFile!
    private var objectCache: [[UInt8]: (ObjectID, UInt64)] = [:]
    private var commitCache: [String: ObjectID] = [:]
    private var pendingObjects: [([UInt8], ObjectID, UInt64)] = []
    private var pendingCommits: [(ObjectID, Commit)] = []
    private var bytesAtLastPublish: UInt64 = 0
    /// Heights of the trees converted since the last publish (not readable from the store yet).
    private var unpublishedHeights: [ObjectID: Int] = [:]
    private static let cacheLimit = 1 << 20

    public init(session: WriteSession, source: String, repoID: String) {
        self.session = session
        self.source = source
        self.repoID = repoID
        self.node = session.repo.identity.endpointID
    }

    /// One import as `ark import` runs it: a write session (holding the store lock shared) for
    /// its duration, an importer set up by `configure`, and its statistics.
    public static func run(into repo: Repository, source: String, repoID: String, onWait: () -> Void = {},
                           configure: (GitImporter) -> Void = { _ in }) throws -> Stats {
        let session = try WriteSession(repo, onWait: onWait)
        let importer = GitImporter(session: session, source: source, repoID: repoID)
        configure(importer)
        return try importer.run()
    }

    /// The git directory behind `path`: a jj repository's backing store (colocated or not),
    /// or the repository (work tree or bare) git itself finds there.
    public static func gitDirectory(for path: String) throws -> String {
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

    public func run() throws -> Stats {
        signal(SIGPIPE, SIG_IGN)
        gitDir = try Self.gitDirectory(for: source)
        let format = String(decoding: try GitProcess.output(gitDir: gitDir, ["rev-parse", "--show-object-format"]), as: UTF8.self)
        hashLength = format.hasPrefix("sha256") ? 32 : 20
        let refs = try readRefs()
        cat = try GitCatFile(gitDir: gitDir)
        bytesAtLastPublish = session.newBytesStored

        // Commits under this repo's imported heads are complete (parents go first), so the
        // walk stops there; anything else already imported is skipped one by one.
        let known = try session.repo.index.heads(repo: repoID).filter { $0.ref.owner == node }
            .compactMap { try session.repo.index.commit($0.commit)?.sourceID }
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
        try publish(heads: refs)
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
            let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard parts.count == 3 else { continue }
            // "<id> <type> <peeled id> <peeled type> <refname>"; the peeled fields are empty for non-tags.
            let rest = parts[2].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            let (hex, refname): (String, String)
            if parts[1] == "commit", rest.count == 3 { (hex, refname) = (parts[0], rest[2]) }
            else if parts[1] == "tag", rest.count == 3, rest[1] == "commit" { (hex, refname) = (rest[0], rest[2]) }
            else { warn("skipping \(rest.last ?? parts[0]): not a commit"); continue }
            let name = refname.hasPrefix("refs/heads/") ? String(refname.dropFirst(11)) : "tags/" + refname.dropFirst(10)
            guard !name.contains("@"), !name.contains(":") else { warn("skipping \(refname): '@' and ':' cannot appear in a head name"); continue }
            refs.append(Ref(name: name, hex: hex))
        }
        if let head = try? GitProcess.output(gitDir: gitDir, ["rev-parse", "-q", "--verify", "HEAD^{commit}"]) {
            let hex = String(decoding: head, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !hex.isEmpty { refs.append(Ref(name: "", hex: hex)) }
        }
        return refs
    }

    private func commitID(_ hex: String) throws -> ObjectID? {
        if let id = commitCache[hex] { return id }
        guard let id = try session.repo.index.read({ db in try Index.commit(db, sourceID: hex, node: node) }) else { return nil }
        remember(commit: hex, id)
        return id
    }

    private func remember(commit hex: String, _ id: ObjectID) {
        if commitCache.count >= Self.cacheLimit { commitCache.removeAll() }
        commitCache[hex] = id
    }

    private func mapped(_ gitID: [UInt8]) throws -> (ObjectID, UInt64)? {
        if let m = objectCache[gitID] { return m }
        guard let m = try session.repo.index.read({ db in try Index.gitObject(db, gitID) }) else { return nil }
        remember(gitID, m.id, m.size, new: false)
        return m
    }

    private func remember(_ gitID: [UInt8], _ id: ObjectID, _ size: UInt64, new: Bool) {
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
        guard g.message.utf8.count <= ObjectLimits.maxMessageBytes else {
            throw ArkError(.unsupported, "git commit \(hex): message longer than \(ObjectLimits.maxMessageBytes) bytes")
        }
        for s in [g.author, g.committer] where s.name.utf8.count > ObjectLimits.maxPersonBytes || s.email.utf8.count > ObjectLimits.maxPersonBytes {
            throw ArkError(.unsupported, "git commit \(hex): author or committer longer than \(ObjectLimits.maxPersonBytes) bytes")
        }
        let commit = Commit(tree: tree, parents: parents, author: g.author, committer: g.committer, message: g.message,
                            changeID: g.changeID, sourceID: hex, node: node)
        let id = try session.put(.commit, commit.encoded())
        pendingCommits.append((id, commit))
        remember(commit: hex, id)
    }

    /// A git tree being converted: its entries, how many are done, and the converted ones.
    private struct TreeFrame {
        var raw: [UInt8]
        var hex: String
        var name: String
        var entries: [GitTreeEntry]
        var next = 0
        var out: [Tree.Entry] = []
        var height = 0
    }

    /// Converts a commit's root tree, subtrees first, with an explicit stack (a hostile tree
    /// can nest directories tens of thousands deep). A tree nesting directories more than
    /// `ObjectLimits.maxTreeDepth` levels deep is refused, naming the commit and the path.
    private func convertTree(_ rootRaw: [UInt8], commit: String) throws -> (ObjectID, UInt64) {
        if let m = try mapped(rootRaw) { return m }
        let limit = ObjectLimits.maxTreeDepth
        func tooDeep(_ stack: [TreeFrame], _ last: String?) -> ArkError {
            let names = stack.dropFirst().map(\.name) + (last.map { [$0] } ?? [])
            let path = names.count > 6 ? (names.prefix(3) + ["…"] + names.suffix(2)).joined(separator: "/") : names.joined(separator: "/")
            return ArkError(.unsupported, "git commit \(commit): tree nests directories more than \(limit) levels deep (at \(path), \(names.count) levels)")
        }
        var stack = [try openTree(rootRaw, name: "")]
        var result: (ObjectID, UInt64)?
        while let top = stack.indices.last {
            if stack[top].next < stack[top].entries.count {
                let e = stack[top].entries[stack[top].next]
                stack[top].next += 1
                switch e.kind {
                case .file, .executable:
                    let (manifest, size) = try convertBlob(e.id)
                    stack[top].out.append(.file(e.name, manifest: manifest, size: size, executable: e.kind == .executable))
                case .symlink:
                    let bytes = try cat.object(HexCodec.encode(e.id), type: "blob")
                    guard let target = String(validating: bytes, as: UTF8.self), !target.isEmpty, !target.utf8.contains(0) else {
                        throw ArkError(.unsupported, "git tree \(stack[top].hex): symlink '\(e.name)' has an empty or non-UTF-8 target")
                    }
                    stack[top].out.append(.symlink(e.name, target: target))
                case .directory:
                    if let (tree, size) = try mapped(e.id) {
                        let h = try height(ofConverted: tree)
                        guard stack.count + h <= limit else { throw tooDeep(stack, e.name) }
                        stack[top].height = max(stack[top].height, h + 1)
                        stack[top].out.append(.directory(e.name, tree: tree, size: size))
                    } else {
                        guard stack.count < limit + 1 else { throw tooDeep(stack, e.name) }
                        stack.append(try openTree(e.id, name: e.name))
                    }
                case .gitlink:
                    stack[top].out.append(.submodule(e.name, commit: HexCodec.encode(e.id)))
                }
                continue
            }
            let done = stack.removeLast()
            let tree: Tree
            do { tree = try Tree(entries: done.out) } catch let e as ArkError { throw ArkError(e.code, "git tree \(done.hex): \(e.message)") }
            let id = try session.put(.tree, tree.encoded())
            stats.treesConverted += 1
            remember(done.raw, id, tree.totalSize, new: true)
            unpublishedHeights[id] = done.height
            TreeHeights.shared.put(id, done.height)
            if let parent = stack.indices.last {
                stack[parent].height = max(stack[parent].height, done.height + 1)
                stack[parent].out.append(.directory(done.name, tree: id, size: tree.totalSize))
            } else {
                result = (id, tree.totalSize)
            }
        }
        return result!
    }

    private func openTree(_ raw: [UInt8], name: String) throws -> TreeFrame {
        let hex = HexCodec.encode(raw)
        let entries = try GitTreeEntry.parse(try cat.object(hex, type: "tree"), hashLength: hashLength, id: hex)
        return TreeFrame(raw: raw, hex: hex, name: name, entries: entries)
    }

    /// Height of a tree converted earlier: this run's are remembered, earlier runs' are read.
    private func height(ofConverted tree: ObjectID) throws -> Int {
        if let h = unpublishedHeights[tree] ?? TreeHeights.shared.get(tree) { return h }
        return try session.repo.treeHeight(tree)
    }

    private func convertBlob(_ raw: [UInt8]) throws -> (ObjectID, UInt64) {
        if let m = try mapped(raw) { return m }
        let hex = HexCodec.encode(raw)
        let (type, size) = try cat.request(hex)
        guard type == "blob" else { throw ArkError(.malformed, "git object \(hex) is a \(type), expected a blob") }
        var remaining = size
        let cat = self.cat!
        let (manifest, stored) = try session.putFile(source: { buf in
            guard remaining > 0 else { return 0 }
            let n = try cat.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[..<min(buf.count, remaining)]))
            remaining -= n
            return n
        }, name: "git blob \(hex)", size: size)
        try cat.endContent()
        guard stored == UInt64(size) else { throw ArkError(.io, "git blob \(hex): read \(stored) of \(size) bytes") }
        stats.blobsConverted += 1
        remember(raw, manifest, stored, new: true)
        return (manifest, stored)
    }

    /// Makes the batch durable and records its commits and map rows in one transaction;
    /// with `heads`, also moves the repo's heads to the source's refs.
    private func publish(heads refs: [Ref]? = nil) throws {
        let objects = pendingObjects, commits = pendingCommits
        let repoID = self.repoID, node = self.node, cause = "import \(source)"
        let now = Int64(Date().timeIntervalSince1970)
        var moved = 0, deleted = 0
        var targets: [String: ObjectID] = [:]
        if let refs { for r in refs { targets[r.name] = try commitID(r.hex) } }
        try session.publish { db in
            for (git, id, size) in objects { try Index.insertGitObject(db, git, id: id, size: size) }
            for (id, c) in commits { try Index.insertCommit(db, id: id, c) }
            guard refs != nil else { return }
            for (name, id) in targets.sorted(by: { $0.key < $1.key }) {
                let ref = HeadRef(repo: repoID, owner: node, name: name)
                let current = try Index.head(db, ref)
                guard current != id else { continue }
                try Index.setHead(db, ref, to: id, expected: current, actor: node, cause: cause, time: now)
                moved += 1
            }
            // Branches and tags deleted in the source go away here too (imported heads only).
            let existing = try Row.fetchAll(db, sql: """
                SELECT h.name, h.commit_id FROM heads h JOIN commits c ON c.id = h.commit_id
                WHERE h.repo = ? AND h.owner = ? AND h.name != '' AND c.source_id IS NOT NULL
                """, arguments: [repoID, node])
            for row in existing {
                let name: String = row[0]
                guard targets[name] == nil else { continue }
                try Index.setHead(db, HeadRef(repo: repoID, owner: node, name: name), to: nil, expected: row[1], actor: node, cause: cause, time: now)
                deleted += 1
            }
        }
        stats.headsMoved += moved; stats.headsDeleted += deleted
        pendingObjects.removeAll(keepingCapacity: true)
        pendingCommits.removeAll(keepingCapacity: true)
        unpublishedHeights.removeAll(keepingCapacity: true)
        bytesAtLastPublish = session.newBytesStored
    }
}
