import ArgumentParser
import ArkCore
import ArkS3
import Foundation

/// `--config` on every command, and the store it leads to.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file.", valueName: "path"))
    var config: String?

    /// `--config`, else the file `ARK_CONFIG` names (as git-remote-ark finds it), else ./ark.toml.
    func loadConfig() throws -> ArkConfig {
        let fromEnvironment = ProcessInfo.processInfo.environment["ARK_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        return try ArkConfig.load(path: config ?? fromEnvironment)
    }

    /// Loads the configuration and opens (or creates) the store it names. With `[store.s3]`,
    /// the bucket is checked first (endpoint, bucket, credentials), before anything is written.
    /// A store that kept its packs locally and now has a bucket uploads them first
    /// (`Repository.adoptLocalPacks`), with a progress line on a TTY. Should that fail, the
    /// command still runs on the store as it is (those packs stay local and are never evicted)
    /// after a one-line warning, and the next command tries again: `ark repair index` in
    /// particular must stay possible.
    func open() throws -> StoreContext {
        let cfg = try loadConfig()
        let repo = try Repository(path: cfg.storePath, packStorage: try Self.packStorage(cfg), cacheLimit: cfg.cacheLimit)
        if repo.packStorage != nil {
            let bar = ProgressLine("uploading local packs to the bucket")
            do {
                try repo.adoptLocalPacks { p in
                    bar.update(done: p.bytesDone, total: p.bytesTotal, extra: "\(p.packsDone)/\(p.packsTotal) packs")
                }
                bar.finish()
            } catch let e as ArkError {
                bar.finish()
                Terminal.err(
                    "warning: the store's local packs are not all in the bucket yet (they stay local; the next command tries again): \(e.message)"
                )
            }
        }
        return StoreContext(config: cfg, repo: repo)
    }

    /// The bucket `[store.s3]` names, checked; nil without `[store.s3]`.
    static func packStorage(_ cfg: ArkConfig) throws -> (any PackStorage)? {
        guard let s3 = cfg.s3 else { return nil }
        let storage = S3PackStorage(configuration: try s3.configuration())
        try storage.checkBucket()
        return storage
    }
}

/// An opened store with its configuration: what most commands work on.
struct StoreContext {
    let config: ArkConfig
    let repo: Repository

    var resolver: RevisionResolver { RevisionResolver(repo: repo, peers: config.peerNames) }

    func resolve(_ rev: String) throws -> ObjectID { try resolver.resolve(rev) }

    /// `rev[:path]` to its commit and the entry at the path. A path in double quotes is read as
    /// text output quotes it (`proj:"caf\351.txt"`: C escapes and octal bytes, as git quotes
    /// paths); any other path is taken literally, as the bytes the shell passed.
    func resolveEntry(_ spec: String) throws -> (commit: ObjectID, info: Commit, entry: Tree.Entry, path: EntryPath) {
        let (rev, text) = RevisionResolver.split(spec)
        let path = EntryPath(bytes: try RawArguments.path(of: spec, text: text))
        let id = try resolve(rev)
        let commit = try repo.commit(id)
        return (id, commit, try repo.lookup(tree: commit.tree, path: path), path)
    }

    /// How a head is written as a revision: `repo[/name]` for this node, `...@peer` otherwise.
    func display(_ ref: HeadRef) -> String {
        if ref.owner == repo.identity.endpointID { return ref.local }
        return "\(ref.local)@\(config.peerName(of: ref.owner) ?? ref.owner.hex)"
    }
}
