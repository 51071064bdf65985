import ArkCore
import Foundation

/// `push`: the pushed commits are imported from the local git repository as `ark import`
/// would (bit for bit, checked), then the head the ref names moves. Moving a head that is not
/// an ancestor of the new commit needs git's force (`+`); an empty source deletes the head.
extension RemoteHelper {
    struct PushSpec {
        var force: Bool
        var source: String
        var destination: String
    }

    func push(_ lines: [String]) throws {
        var specs: [PushSpec] = []
        for l in lines {
            var spec = Substring(l.dropFirst(5))
            let force = spec.first == "+"
            if force { spec = spec.dropFirst() }
            guard let colon = spec.lastIndex(of: ":") else { throw HelperError("malformed push command '\(l)'") }
            specs.append(PushSpec(force: force, source: String(spec[..<colon]), destination: String(spec[spec.index(after: colon)...])))
        }
        var out = ""
        for s in specs {
            do {
                try pushOne(s)
                out += "ok \(s.destination)\n"
            } catch let e as PushRejection {
                out += "error \(s.destination) \(e.reason)\n"
            } catch {
                // Any other failure (an import that would not round-trip, a missing chunk, a
                // head moved meanwhile) refuses this ref only: refs already moved stay reported.
                let line = "\(error)".split(separator: "\n").first.map(String.init) ?? "failed"
                out += "error \(s.destination) \(line)\n"
            }
        }
        send(out + "\n")
    }

    /// A refused ref: reported to git, which names it; other refs still go.
    struct PushRejection: Error { var reason: String }

    private func pushOne(_ s: PushSpec) throws {
        guard let name = RefMap.headName(forPush: s.destination) else {
            throw PushRejection(
                reason:
                    "only refs/heads/<branch> and refs/tags/<tag> map to ark heads (not peers/*, a branch under tags/, or a name with '@' or ':')"
            )
        }
        let repo = try repo()
        let node = repo.identity.endpointID
        // `refs/heads/main` stands for the main head `<repo>` when the repo has no head named
        // `main` (as `list` advertises it): a push there moves the main head.
        var headName = name
        if name == "main", try repo.index.head(HeadRef(repo: location.repo, owner: node, name: "main")) == nil,
            try repo.index.head(HeadRef(repo: location.repo, owner: node)) != nil
        {
            headName = ""
        }
        let ref = HeadRef(repo: location.repo, owner: node, name: headName)
        let current = try repo.index.head(ref)
        let now = Int64(Date().timeIntervalSince1970)
        if s.source.isEmpty {
            try repo.index.setHead(ref, to: nil, expected: current, actor: node, cause: "git push (delete)", time: now)
            return
        }
        let hex = try resolve(s.source)
        var importer: GitImporter?
        let stats = try GitImporter.run(
            into: repo, source: gitDir, repoID: location.repo,
            configure: { imp in
                imp.refsOverride = [(name: name, hex: hex)]
                imp.moveHeads = false
                importer = imp
            })
        logger.info("imported \(stats.commitsImported) commits for \(s.destination)")
        guard let new = try importer?.commitID(hex) else { throw HelperError("git commit \(hex) was not imported") }
        if let current, current != new, !s.force, try !isAncestor(current, of: new, in: repo) {
            throw PushRejection(reason: "non-fast-forward")
        }
        try repo.index.setHead(ref, to: new, expected: current, actor: node, cause: "git push \(s.destination)", time: now)
    }

    /// The commit a local ref or id names, in the local git repository.
    private func resolve(_ rev: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "--git-dir=" + gitDir, "rev-parse", "--verify", "-q", rev + "^{commit}"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let hex = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0, HexCodec.isHex(hex), hex.utf8.count == 40 else {
            throw PushRejection(reason: "\(rev) is not a commit in the local repository")
        }
        return hex
    }

    /// Whether `ancestor` is reachable from `commit` through parents.
    private func isAncestor(_ ancestor: ObjectID, of commit: ObjectID, in repo: Repository) throws -> Bool {
        var stack = [commit], seen = Set<ObjectID>()
        while let c = stack.popLast() {
            if c == ancestor { return true }
            guard seen.insert(c).inserted else { continue }
            stack += try repo.commit(c).parents
        }
        return false
    }
}
