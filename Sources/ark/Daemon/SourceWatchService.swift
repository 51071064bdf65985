import ArkCore
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Imports new commits from the repos' `source` repositories (ark.toml) as they are made: one
/// import at start to catch up, then one per burst of ref changes (`SourceWatcher`: inotify,
/// debounced). Each import is what `ark import` does (`GitImporter.run`), so heads, oplog and
/// resumability are the same; the heads it moves are announced to peers by the sync daemon's
/// `HeadAnnounceService`, whose `HeadWatcher` sees this process's index writes like any other.
/// A failed import logs one line and the next change tries again. Runs until graceful
/// shutdown, then lets an import in progress publish what it has and stop.
final class SourceWatchService: Service, Sendable {
    enum State {
        case idle
        case watching([SourceWatcher])
        case stopping
        case finished
    }

    let context: StoreContext
    /// Milliseconds without ref changes before importing.
    let quiet: Int32
    private let state = Mutex(State.idle)
    private let logger = Logger(label: "ark.watch")

    init(context: StoreContext, quiet: Int32 = 250) {
        self.context = context
        self.quiet = quiet
    }

    var isStopping: Bool {
        state.withLock { s in
            switch s {
            case .stopping, .finished: true
            case .idle, .watching: false
            }
        }
    }

    func run() async throws {
        var watchers: [SourceWatcher] = []
        for (repo, path) in context.config.sources {
            do {
                watchers.append(try SourceWatcher(source: path, quiet: quiet) { [self] in importNow(repo: repo, source: path) })
                logger.info("watching \(path) for repo \(repo)")
            } catch {
                logger.error("cannot watch \(path) for repo \(repo): \(Self.oneLine(error))")
            }
        }
        let started = state.withLock { s -> Bool in
            guard case .idle = s else { return false }
            s = .watching(watchers)
            return true
        }
        guard started else { throw ArkError(.busy, "the source watcher is already running") }
        for w in watchers { w.start() }

        try? await gracefulShutdown()

        state.withLock { $0 = .stopping }
        let all = watchers
        for w in all { w.stop() }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                for w in all { w.join() }
                done.resume()
            }
        }
        state.withLock { $0 = .finished }
    }

    /// One import of `source` into `repo` (on the watcher's thread).
    private func importNow(repo: String, source: String) {
        guard !isStopping else { return }
        let start = Date()
        do {
            let stats = try GitImporter.run(
                into: context.repo, source: source, repoID: repo,
                onWait: { logger.notice("import of \(source) waits for gc to finish") }
            ) { importer in
                importer.warn = { [logger] in logger.warning("import of \(source): \($0)") }
                importer.shouldStop = { [self] in isStopping }
            }
            let ms = Int(Date().timeIntervalSince(start) * 1000)
            if stats.commitsImported > 0 || stats.headsMoved > 0 || stats.headsDeleted > 0 {
                logger.notice(
                    "imported \(stats.commitsImported) commits from \(source) into \(repo), \(stats.headsMoved) heads moved, \(stats.headsDeleted) deleted in \(ms) ms"
                )
            } else {
                logger.debug("\(source): nothing new (\(ms) ms)")
            }
        } catch is CancellationError {
            logger.info("import of \(source) stopped for shutdown; the next start resumes it")
        } catch {
            logger.error("import of \(source) into \(repo) failed: \(Self.oneLine(error))")
        }
    }

    private static func oneLine(_ error: Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
    }
}
