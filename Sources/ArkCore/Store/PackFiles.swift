import Glibc
import Synchronization

/// Open pack files for reading, by index pack id. pread makes one descriptor per pack
/// shareable by every reader thread.
final class PackFiles: Sendable {
    private let directory: String
    private let open = Mutex<[Int64: FileDescriptor]>([:])

    init(directory: String) { self.directory = directory }

    func file(_ pack: Int64, name: () throws -> String?) throws -> FileDescriptor {
        if let f = open.withLock({ $0[pack] }) { return f }
        guard let n = try name() else { throw ArkError(.corrupt, "index names pack \(pack) but has no file for it") }
        let f: FileDescriptor
        do { f = try FileDescriptor(open: directory + "/" + n, flags: O_RDONLY) } catch let e as ArkError {
            throw ArkError(.missing, "pack file \(n) is missing from the store", context: e.message)
        }
        return open.withLock { cache in
            if let existing = cache[pack] { return existing }
            if cache.count >= 256 { cache.removeAll() }
            cache[pack] = f
            return f
        }
    }

    /// Forget a descriptor (after gc replaced the pack, or on a read error).
    func drop(_ pack: Int64) { _ = open.withLock { $0.removeValue(forKey: pack) } }
}
