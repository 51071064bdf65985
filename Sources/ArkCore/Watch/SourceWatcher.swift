import Foundation
import Glibc

/// Watches a git or jj repository for new commits and calls `onChange` on its own thread: once
/// at start (to catch up), then after every burst of changes has been quiet for `quiet`
/// milliseconds. Changes made while `onChange` runs wait in the kernel's queue and lead to
/// exactly one more call. Event driven (inotify), never polling.
///
/// What is watched is what git and jj write when history moves: the git directory's `HEAD`
/// and `packed-refs`, every directory under `refs/` (new ones as they appear) and `reftable/`
/// when present; for jj also `.jj/repo/op_heads/heads/` (the git store it exports to, colocated
/// `.git` or `.jj/repo/store/git`, is the git directory above).
package final class SourceWatcher: @unchecked Sendable {  // the inotify watches are touched only by the watcher thread; stop() only writes to its pipe
    package let source: String
    package let gitDirectory: String
    private let inotify: Inotify
    private let quiet: Int32
    private let onChange: () -> Void
    private var gitRoots: Set<String> = []
    private let finished = DispatchSemaphore(value: 0)

    /// Sets up the watches on `source` (throws when it is not a git or jj repository).
    package init(source: String, quiet: Int32 = 250, onChange: @escaping () -> Void) throws {
        self.source = source
        self.quiet = quiet
        self.onChange = onChange
        gitDirectory = try GitImporter.gitDirectory(for: source)
        inotify = try Inotify()
        // A linked work tree keeps HEAD in its own directory and refs in the common one.
        var common = gitDirectory
        if let c = try? String(contentsOfFile: gitDirectory + "/commondir", encoding: .utf8) {
            let t = c.trimmingCharacters(in: .whitespacesAndNewlines)
            common = ((t.hasPrefix("/") ? t : gitDirectory + "/" + t) as NSString).standardizingPath
        }
        gitRoots = [gitDirectory, common]
        for root in gitRoots { try inotify.watch(root) }
        for dir in [common + "/refs", common + "/reftable"] where Self.isDirectory(dir) {
            try inotify.watchTree(dir)
        }
        let opHeads = source + "/.jj/repo/op_heads/heads"
        if Self.isDirectory(opHeads) { try inotify.watch(opHeads) }
    }

    /// Starts the thread: one `onChange` now, then one per burst of changes until `stop()`.
    package func start() {
        let t = Thread { [self] in
            onChange()
            while inotify.waitForBurst(quiet: quiet, maxDelay: 10 * quiet, relevant: relevant) { onChange() }
            finished.signal()
        }
        t.name = "ark-source-watcher"
        t.start()
    }

    /// Asks the thread to end (after the `onChange` call in progress, if any).
    package func stop() { inotify.stop() }

    /// Blocks until the thread started by `start()` has ended.
    package func join() { finished.wait() }

    private func relevant(_ e: Inotify.Event) -> Bool {
        if e.isOverflow { return true }
        // git writes `<ref>.lock` and renames it into place; the rename is what counts.
        if e.name.hasSuffix(".lock") { return false }
        if gitRoots.contains(e.directory) { return e.name == "HEAD" || e.name == "packed-refs" }
        if e.isDirectory && e.isCreation {
            // inotify is not recursive: watch the new directory (and what is already in it).
            try? inotify.watchTree(e.path)
        }
        return true
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
