import Foundation
import Testing

@testable import ArkCore

/// A fresh store in a temporary directory, removed when dropped.
final class TestStore {
    let directory: String
    let repo: Repository

    /// With `bucket`, the store's packs live in a `DirectoryPackStorage` under the temporary
    /// directory (`bucket/`), with a local cache of `cacheLimit` bytes.
    let bucket: DirectoryPackStorage?

    init(bucket withBucket: Bool = false, cacheLimit: Int64 = 10 << 30) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/ark-core-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let p else { throw ArkError(.io, "mkdtemp failed") }
        directory = String(cString: p)
        bucket = withBucket ? try DirectoryPackStorage(root: directory + "/bucket") : nil
        repo = try Repository(path: directory + "/store", packStorage: bucket, cacheLimit: cacheLimit)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `bytes` to a file under the temporary directory and returns its path.
    func writeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Stores `bytes` as a file through a write session (chunks + manifest, published).
    func putFile(_ bytes: [UInt8], in session: WriteSession, name: String = "f") throws -> (manifest: ObjectID, size: UInt64) {
        let path = try writeFile(name, bytes)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ArkError(.io, "open \(path)") }
        defer { close(fd) }
        return try session.putFile(fd: fd, path: path)
    }

    static func signature(_ time: Int64 = 1_700_000_000) -> Commit.Signature {
        Commit.Signature(name: "Test", email: "test@example.org", time: time, tzOffsetMinutes: 60)
    }

    /// Commits `tree` as the next commit of `head` (the repo's main head of this node).
    @discardableResult
    func commit(tree: ObjectID, session: WriteSession, repoID: String = "repo", message: String = "m") throws -> ObjectID {
        let ref = HeadRef(repo: repoID, owner: repo.identity.endpointID)
        let parent = try repo.index.head(ref)
        let c = Commit(
            tree: tree, parents: parent.map { [$0] } ?? [], author: Self.signature(), committer: Self.signature(),
            message: message, node: repo.identity.endpointID)
        return try session.commit(c, head: ref, expected: parent, cause: "test")
    }

    /// Flips one byte of an object's stored bytes inside its pack file.
    func corrupt(_ id: ObjectID, at delta: UInt64 = 0) throws {
        let obj = try #require(try repo.index.object(id))
        let loc = try #require(obj.location)
        let name = try #require(try repo.index.packName(loc.pack))
        let path = repo.packDirectory + "/" + name
        chmod(path, 0o644)
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw ArkError(.io, "open \(path) for writing") }
        defer { close(fd) }
        var b: UInt8 = 0
        let off = off_t(loc.offset + delta)
        guard pread(fd, &b, 1, off) == 1 else { throw ArkError(.io, "pread") }
        b ^= 0x5a
        guard pwrite(fd, &b, 1, off) == 1 else { throw ArkError(.io, "pwrite") }
    }
}
