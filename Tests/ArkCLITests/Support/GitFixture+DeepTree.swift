import Foundation
import Glibc

extension GitFixture {
    /// A tree nesting `depth` directories named `d`, with a file `f` holding `leaf` in the
    /// innermost one: built bottom-up by one `git mktree --batch`, each tree's id read back
    /// before the tree holding it is written (30,000 levels take seconds, not minutes).
    func deepTree(depth: Int, leaf: String) throws -> String {
        let blob = String(decoding: try run(["hash-object", "-w", "--stdin"], stdin: Data(leaf.utf8)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return try nest("100644 blob \(blob)\tf", depth: depth, name: "d")
    }

    /// Tree `tree` under `depth` directories named `name`.
    func nest(tree: String, depth: Int, name: String) throws -> String {
        try nest("040000 tree \(tree)\t\(name)", depth: depth - 1, name: name)
    }

    /// A tree holding the one `git mktree` entry `entry`, under `depth` more directories `name`.
    private func nest(_ entry: String, depth: Int, name: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", path, "mktree", "--batch"]
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        let write = input.fileHandleForWriting.fileDescriptor, read = output.fileHandleForReading.fileDescriptor
        func tree(_ entry: String) throws -> String {
            var line = Array((entry + "\n\n").utf8)
            var done = 0
            while done < line.count {
                let n = line.withUnsafeMutableBytes { Glibc.write(write, $0.baseAddress! + done, $0.count - done) }
                guard n > 0 else { throw FixtureError("git mktree --batch stopped taking input") }
                done += n
            }
            var id: [UInt8] = []
            var byte: UInt8 = 0
            while true {
                guard Glibc.read(read, &byte, 1) == 1 else { throw FixtureError("git mktree --batch ended early") }
                if byte == 0x0a { break }
                id.append(byte)
            }
            return String(decoding: id, as: UTF8.self)
        }
        var id = try tree(entry)
        for _ in 0..<depth { id = try tree("040000 tree \(id)\t\(name)") }
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw FixtureError("git mktree --batch exited \(p.terminationStatus)") }
        return id
    }

    /// `git commit-tree` with fixed dates; returns the new commit's id.
    func commitTree(_ tree: String, parents: [String] = [], message: String, time: Int = 1_700_000_000) throws -> String {
        try text(
            ["commit-tree", tree] + parents.flatMap { ["-p", $0] } + ["-m", message],
            env: ["GIT_AUTHOR_DATE": "\(time) +0000", "GIT_COMMITTER_DATE": "\(time) +0000"])
    }
}
