import Foundation
import Synchronization

@testable import ArkCore

/// A `PackStorage` kept in a local directory (keys are relative paths under it), for tests of
/// ArkCore's side of a bucket. It counts calls and can be told to fail uploads.
final class DirectoryPackStorage: PackStorage {
    struct Counts: Equatable {
        var uploads = 0
        var puts = 0
        var rangedReads = 0
        var rangedBytes = 0
        var deletes = 0
        /// The most uploads that were running at once.
        var maxUploadsAtOnce = 0
    }

    let root: String
    private let counts = Mutex(Counts())
    private let uploadsFail = Atomic<Bool>(false)
    private let putsFail = Atomic<Bool>(false)
    /// Puts of state records are stored, then reported failed: a crash after the bucket took
    /// the state but before the index transaction committed.
    private let statePutsStoreThenFail = Atomic<Bool>(false)

    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    var location: String { "dir://\(root)" }
    var calls: Counts { counts.withLock { $0 } }
    func failUploads(_ on: Bool) { uploadsFail.store(on, ordering: .relaxed) }
    private let running = Atomic<Int>(0)
    private let rendezvous = Atomic<Int>(0)
    private let failingKeySuffix = Mutex<String?>(nil)
    /// Uploads running now.
    var uploadsRunning: Int { running.load(ordering: .relaxed) }
    /// Each upload waits (up to 5 s) until `count` uploads are running at once, then goes on:
    /// uploads that can overlap are seen to, whatever the machine's load. 0: no wait.
    func uploadsMeet(_ count: Int) { rendezvous.store(count, ordering: .relaxed) }
    /// Uploads of keys ending in `suffix` fail (nil: none); they fail only after the others
    /// running beside them were seen (`uploadsMeet`), and take 0.2 s to, so the others are
    /// still running when one fails.
    func failUploads(endingIn suffix: String?) { failingKeySuffix.withLock { $0 = suffix } }
    func failPuts(_ on: Bool) { putsFail.store(on, ordering: .relaxed) }
    func storeThenFailStatePuts(_ on: Bool) { statePutsStoreThenFail.store(on, ordering: .relaxed) }
    /// Uploads wait until `releaseUploads()`: a bucket slower than the writer.
    private let uploadGate = Mutex<DispatchSemaphore?>(nil)
    func holdUploads() { uploadGate.withLock { $0 = DispatchSemaphore(value: 0) } }
    func releaseUploads() { uploadGate.withLock { $0 }?.signal() }

    private func path(_ key: String) -> String { root + "/" + key }

    private func write(_ key: String, _ bytes: [UInt8]) throws {
        let p = path(key)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p), options: .atomic)
    }

    func upload(key: String, fromFile file: String, length: UInt64) throws {
        if let gate = uploadGate.withLock({ $0 }) {
            gate.wait()
            gate.signal()
        }
        let now = running.add(1, ordering: .relaxed).newValue
        defer { running.subtract(1, ordering: .relaxed) }
        counts.withLock { $0.maxUploadsAtOnce = max($0.maxUploadsAtOnce, now) }
        let meet = rendezvous.load(ordering: .relaxed)
        if meet > 0 {
            let until = ContinuousClock.now + .seconds(5)
            while counts.withLock({ $0.maxUploadsAtOnce }) < meet && ContinuousClock.now < until { usleep(1000) }
        }
        if uploadsFail.load(ordering: .relaxed) { throw ArkError(.io, "upload of \(key) failed (test)") }
        if let suffix = failingKeySuffix.withLock({ $0 }) {
            if key.hasSuffix(suffix) { throw ArkError(.io, "upload of \(key) failed (test)") }
            usleep(200_000)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        guard UInt64(data.count) >= length else { throw ArkError(.io, "\(file) is shorter than \(length)") }
        try write(key, [UInt8](data.prefix(Int(length))))
        counts.withLock { $0.uploads += 1 }
    }

    func put(key: String, bytes: [UInt8]) throws {
        if putsFail.load(ordering: .relaxed) { throw ArkError(.io, "put of \(key) failed (test)") }
        try write(key, bytes)
        counts.withLock { $0.puts += 1 }
        if key.hasPrefix("state/") && statePutsStoreThenFail.load(ordering: .relaxed) {
            throw ArkError(.io, "connection reset after storing \(key) (test)")
        }
    }

    func read(key: String, offset: UInt64, length: Int) throws -> [UInt8] {
        guard let h = FileHandle(forReadingAtPath: path(key)) else { throw ArkError(.missing, "no object \(key)") }
        defer { try? h.close() }
        try h.seek(toOffset: offset)
        let bytes = [UInt8](try h.read(upToCount: length) ?? Data())
        counts.withLock {
            $0.rangedReads += 1; $0.rangedBytes += bytes.count
        }
        return bytes
    }

    func get(key: String) throws -> [UInt8]? {
        FileManager.default.contents(atPath: path(key)).map { [UInt8]($0) }
    }

    func size(key: String) throws -> UInt64? {
        (try? FileManager.default.attributesOfItem(atPath: path(key)))?[.size].map { ($0 as! NSNumber).uint64Value }
    }

    func delete(key: String) throws {
        try? FileManager.default.removeItem(atPath: path(key))
        counts.withLock { $0.deletes += 1 }
    }

    func list(prefix: String) throws -> [PackStorageEntry] {
        var out: [PackStorageEntry] = []
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            guard rel.hasPrefix(prefix), FileManager.default.fileExists(atPath: path(rel), isDirectory: &isDir), !isDir.boolValue,
                !rel.contains(".tmp")
            else { continue }
            out.append(PackStorageEntry(key: rel, size: try size(key: rel) ?? 0))
        }
        return out.sorted { $0.key < $1.key }
    }

    /// Keys under `prefix`, without sizes.
    func keys(_ prefix: String) throws -> [String] { try list(prefix: prefix).map(\.key) }

    /// Flips one byte of `key` at `offset`.
    func flip(_ key: String, at offset: UInt64) throws {
        guard var bytes = try get(key: key) else { throw ArkError(.missing, "no object \(key)") }
        bytes[Int(offset)] ^= 0x5a
        try write(key, bytes)
    }
}
