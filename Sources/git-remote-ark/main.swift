import ArkCore
import Foundation
import Glibc
import Logging

// git runs `git-remote-ark <remote> <url>` for `ark::<url>` (the url alone when the remote is
// given as a URL), with GIT_DIR set to the repository it fetches into or pushes from.
signal(SIGPIPE, SIG_IGN)
LoggingSystem.bootstrap { label in
    var h = StreamLogHandler.standardError(label: label)
    h.logLevel = .notice
    return h
}
var logger = Logger(label: "git-remote-ark")
logger.logLevel = .notice
let env = ProcessInfo.processInfo.environment
if let level = env["ARK_LOG"].flatMap(Logger.Level.init(rawValue:)) { logger.logLevel = level }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fatal: ark: \(message)\n".utf8))
    exit(128)
}

let args = CommandLine.arguments
guard args.count == 2 || args.count == 3 else { fail("usage: git-remote-ark <remote> [<url>] (run by git for ark:: URLs)") }
var url = args.count == 3 ? args[2] : args[1]
if url.hasPrefix("ark::") { url.removeFirst(5) }
// `git ls-remote` outside a repository sets no GIT_DIR: then only `list` can be answered.
var gitDir = env["GIT_DIR"] ?? ""
if !gitDir.isEmpty {
    if !gitDir.hasPrefix("/") { gitDir = FileManager.default.currentDirectoryPath + "/" + gitDir }
    gitDir = (gitDir as NSString).standardizingPath
    setenv("GIT_DIR", gitDir, 1)
}

do {
    let location = try HelperLocation(url: url)
    let helper = RemoteHelper(location: location, gitDir: gitDir, logger: logger)
    try helper.run()
} catch let e as ArkError where e.code == .missing && e.message.contains("not stored locally") {
    // A lazy repo: the helper reads only what this node stores (it does not fetch from peers).
    fail("\(e.message) (a lazy repo? run `ark prefetch` for it first)")
} catch {
    fail("\(error)")
}
