import Foundation

/// Putting a fetch's objects into a git repository: questions through `git cat-file
/// --batch-check`, the pack through `git index-pack --stdin`, which checks every object and
/// moves the pack into place only when it is complete (a failed fetch leaves nothing behind).
extension GitFetchPack {
    package struct Result: Sendable {
        package var objects = 0
        package var bytes: UInt64 = 0
        package var commits = 0
    }

    /// Sends what `gitDir` lacks of `wants` into it. `fill` is given the chunks this node lacks
    /// of the files in the commits to send (a lazy repo), before anything is read or sent; it
    /// must store them or throw.
    package func fetch(
        wants: [ObjectID], gitDir: String, fill: (([(id: ObjectID, length: UInt64)]) throws -> Void)? = nil,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        let probe = try GitObjectProbe(gitDir: gitDir)
        // The commits the repository has, in one `git rev-list --all` (a clone: none), rather
        // than one question per commit.
        var local = Set<[UInt8]>()
        for line in try GitProcess.output(gitDir: gitDir, ["rev-list", "--all"]).split(separator: 0x0a) {
            if let raw = HexCodec.decode(String(decoding: line, as: UTF8.self)) { local.insert(raw) }
        }
        if let fill {
            var absent = try GitAbsentChunks(repo: repo)
            try absent.walk(wants, stop: { local.contains(try ids.commit($0)) }, skip: { _ in false })
            if !absent.chunks.isEmpty { try fill(absent.chunks) }
        }
        // A clone asks for (nearly) every object's git id: read them all at once.
        if local.isEmpty { try ids.preload() }
        let items = try plan(wants: wants, hasCommit: { local.contains($0) }, has: probe.has)
        try ids.flush()
        var result = Result()
        result.commits = items.reduce(0) { n, i in if case .commit = i { n + 1 } else { n } }
        guard !items.isEmpty else { return result }
        let git = try GitProcess(gitDir: gitDir, ["index-pack", "--stdin", "--fix-thin"])
        try write(items, to: { try git.write($0) }, progress: { progress($0, items.count) })
        try git.finish()
        try ids.flush()
        result.objects = items.count
        return result
    }
}

/// Whether a git repository has objects: one `git cat-file --batch-check` answering in order.
final class GitObjectProbe {
    private let git: GitProcess

    init(gitDir: String) throws { git = try GitProcess(gitDir: gitDir, ["cat-file", "--batch-check=%(objectname)"]) }

    func has(_ id: [UInt8]) throws -> Bool {
        try git.write(Array((HexCodec.encode(id) + "\n").utf8))
        guard let line = try git.readLine() else { throw ArkError(.io, "git cat-file --batch-check ended early") }
        return !line.reversed().starts(with: Array(" missing".utf8).reversed())
    }
}
