import Dispatch
import Synchronization

/// Small files are read, chunked, hashed and compressed on `readerThreads` threads ahead of
/// the walk, in groups of consecutive files of one directory (one index read transaction per
/// group). The walk's thread takes each file's result in order and only appends what is new,
/// so packs, index rows and trees are written exactly as a walk on one thread writes them.
/// More reads in flight than cores also keeps a cold disk busy.
extension Snapshot {
    static let readerThreads = 6
    /// Files per group handed to one reader thread.
    static let groupFiles = 8
    static let groupBytes = 2 << 20
    /// At most this many files of one directory are ahead of the walk...
    static let aheadFiles = 64
    /// ...and this many bytes over all directories on the walk's path.
    static let aheadBytes = 48 << 20

    /// The reader threads' result for the file the walk is at (`frame.next - 1`), if it was
    /// submitted; first submits the files after it, up to the window.
    mutating func takeAhead(_ frame: inout Frame) -> (PreparedGroup, Int)? {
        fill(&frame)
        let current = frame.next - 1
        guard let entry = frame.ahead.removeValue(forKey: current) else { return nil }
        if case .file(let key, _, _) = frame.children[current].1 {
            frame.aheadBytes -= Int(key.size); bytesAhead -= Int(key.size)
        }
        return entry
    }

    private mutating func fill(_ frame: inout Frame) {
        guard let readers, let preparer, frame.ahead.count + Self.groupFiles <= Self.aheadFiles else { return }
        var group: [(index: Int, path: [UInt8])] = []
        var groupSize = 0
        func submit() {
            let g = PreparedGroup()
            let paths = group.map(\.path)
            for (k, member) in group.enumerated() { frame.ahead[member.index] = (g, k) }
            readers.submit { g.fulfil(preparer.prepare(paths)) }
            group.removeAll(); groupSize = 0
        }
        while frame.scanned < frame.children.count, frame.ahead.count + group.count < Self.aheadFiles,
            bytesAhead < Self.aheadBytes
        {
            let i = frame.scanned
            frame.scanned += 1
            let (name, node) = frame.children[i]
            guard case .file(let key, _, _) = node, key.size <= FilePreparer.maxSize, frame.hits[i] == nil else { continue }
            group.append((i, frame.path + [0x2f] + name.bytes))
            groupSize += Int(key.size); frame.aheadBytes += Int(key.size); bytesAhead += Int(key.size)
            if group.count == Self.groupFiles || groupSize >= Self.groupBytes { submit() }
        }
        if !group.isEmpty { submit() }
    }
}

/// The outcomes of one group of files, filled in once by a reader thread.
final class PreparedGroup: Sendable {
    private let result = Mutex<[PreparedOutcome]?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func fulfil(_ outcomes: [PreparedOutcome]) {
        result.withLock { $0 = outcomes }
        done.signal()
    }

    /// Waits for the reader thread (once; later calls return at once).
    func wait() -> [PreparedOutcome] {
        if let r = result.withLock({ $0 }) { return r }
        done.wait()
        return result.withLock { $0! }
    }
}
