/// Where a node's pack files live when they are kept off the local disk: an S3-compatible
/// bucket (`ArkS3.S3PackStorage`). ArkCore only sees this narrow interface, so it imports no
/// HTTP stack. Keys are relative to the configured prefix (the storage adds it).
///
/// Every call blocks its thread until the server has answered (ArkCore calls it from its
/// `BlockingPool`, FUSE threads or command threads, never from an event loop), retries
/// transient failures itself, and throws an `ArkError` with a one-line message naming the key
/// when it gives up (`.missing` when the key does not exist, `.io` otherwise).
package protocol PackStorage: Sendable {
    /// A one-line name for messages, such as `s3://bucket/prefix at http://127.0.0.1:8080`.
    var location: String { get }

    /// Stores the first `length` bytes of the local file at `path` as `key` (multipart for
    /// large files). Returns only once the server has confirmed the whole object.
    func upload(key: String, fromFile path: String, length: UInt64) throws

    /// Stores a small object whole (heads, recovery records). Confirmed on return.
    func put(key: String, bytes: [UInt8]) throws

    /// `length` bytes of `key` from `offset` (a ranged GET). Fewer bytes only at the end.
    func read(key: String, offset: UInt64, length: Int) throws -> [UInt8]

    /// The bytes of `key` from `offset` in consecutive parts of `lengths` bytes, with one
    /// ranged GET (a run of records). Fewer or shorter parts only at the end.
    func read(key: String, offset: UInt64, lengths: [Int]) throws -> [[UInt8]]

    /// The whole object, or nil if there is no such key.
    func get(key: String) throws -> [UInt8]?

    /// The object's size, or nil if there is no such key (HEAD).
    func size(key: String) throws -> UInt64?

    /// Deletes `key`; deleting a key that does not exist is not an error.
    func delete(key: String) throws

    /// Every key under `prefix` (relative, as passed to the other calls) with its size, in
    /// key order, across as many list pages as it takes.
    func list(prefix: String) throws -> [PackStorageEntry]
}

/// One object listed by `PackStorage.list`.
package struct PackStorageEntry: Sendable, Equatable {
    package var key: String
    package var size: UInt64
    package init(key: String, size: UInt64) { self.key = key; self.size = size }
}

extension PackStorage {
    /// One read, cut into the parts (a storage that cannot receive them apart).
    package func read(key: String, offset: UInt64, lengths: [Int]) throws -> [[UInt8]] {
        let bytes = try read(key: key, offset: offset, length: lengths.reduce(0, +))
        var parts: [[UInt8]] = []
        var at = 0
        for n in lengths where at < bytes.count {
            parts.append(Array(bytes[at..<min(at + n, bytes.count)]))
            at += n
        }
        return parts
    }
}
