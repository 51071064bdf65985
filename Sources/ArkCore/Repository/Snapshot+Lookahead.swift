import Dispatch
import Synchronization

/// Directory listings made ahead of the walk, on threads of their own. From a dropped cache a
/// re-commit of an unchanged tree is bound by the `lstat` of every entry: directory blocks and
/// inode tables read from the disk, and on the 2-core VM mostly the kernel's CPU (a C walk of
/// 200,000 files in 97 x 53 directories spends 1.4-1.7 s of system time on one thread or 16).
/// A few listing threads overlap that with the walk's own work; 16 listed no faster and made a
/// warm re-commit slower (1.90 s against 1.56 s); `lstat` in inode order or `statx` asking
/// fewer fields gained nothing.
///
/// A listing made ahead submits its own first subdirectories as soon as it has read its
/// entries, so the walk finds the subdirectories of the next directory listed when it enters
/// it, not only the directory's siblings. The listings submitted and not yet taken by the walk
/// are bounded (`outstandingLimit`, past which a listing submits no subdirectories; the walk
/// always submits the next siblings of the directory it enters), and so are their entries
/// (`ListedAhead`).
final class Lookahead: Sendable {
    static let threads = 4
    static let outstandingLimit = 32

    let pool: BlockingPool
    let listed: ListedAhead
    let excluded: (dev: UInt64, ino: UInt64)?
    let index: Index?
    private let outstanding = Atomic<Int>(0)
    private let submitted = Atomic<Int>(0)

    init(pool: BlockingPool, listed: ListedAhead, excluded: (dev: UInt64, ino: UInt64)?, index: Index?) {
        self.pool = pool
        self.listed = listed
        self.excluded = excluded
        self.index = index
    }

    /// Lists `path` on a listing thread; the walk takes the result (`DirectoryFuture.wait`).
    func submit(_ path: [UInt8]) -> DirectoryFuture {
        outstanding.add(1, ordering: .relaxed)
        submitted.add(1, ordering: .relaxed)
        let f = DirectoryFuture(lookahead: self)
        pool.submit { [self] in
            f.fulfil(Result { try Snapshot.list(path, excluded: excluded, index: index, lookahead: self) })
        }
        return f
    }

    /// Submits `listing`'s first subdirectories (up to `Snapshot.directoriesAhead`) while
    /// within the bounds, and records how far it got.
    func submitSubdirectories(of path: [UInt8], _ listing: inout Snapshot.Listing) {
        var i = 0
        while i < listing.children.count, listing.ahead.count < Snapshot.directoriesAhead {
            if case .directory = listing.children[i].1 {
                guard outstanding.load(ordering: .relaxed) < Self.outstandingLimit, listed.value < listed.limit else { break }
                listing.ahead[i] = submit(path + [0x2f] + listing.children[i].0.bytes)
            }
            i += 1
        }
        listing.aheadScanned = i
    }

    /// A submitted listing was taken by the walk or discarded.
    func taken() { outstanding.subtract(1, ordering: .relaxed) }

    /// Listings submitted so far, and those neither taken nor discarded yet.
    var counts: (submitted: Int, outstanding: Int) {
        (submitted.load(ordering: .relaxed), outstanding.load(ordering: .relaxed))
    }
}

/// A directory listing made by a listing thread, filled in once and then either taken by the
/// walk (`wait`) or discarded (its parent's listing was). Its entries count in the lookahead's
/// `ListedAhead` from when it is listed until it is taken; a listing that would take the count
/// past the limit is dropped (the walk lists that directory itself when it gets there), and so
/// are the listings it submitted.
final class DirectoryFuture: Sendable {
    private enum State {
        case pending, kept(Snapshot.Listing), dropped, failed(any Error), discarded
    }

    private let state = Mutex(State.pending)
    private let done = DispatchSemaphore(value: 0)
    private let lookahead: Lookahead

    init(lookahead: Lookahead) { self.lookahead = lookahead }

    func fulfil(_ r: Result<Snapshot.Listing, any Error>) {
        let counter = lookahead.listed
        let orphans = state.withLock { s -> [DirectoryFuture] in
            switch r {
            case .failure(let e):
                if case .pending = s { s = .failed(e) }
                return []
            case .success(let listing):
                if case .pending = s, counter.reserve(listing.children.count) {
                    s = .kept(listing)
                    return []
                }
                if case .pending = s { s = .dropped }
                return Array(listing.ahead.values)
            }
        }
        for f in orphans { f.discard() }
        done.signal()
    }

    /// The listing, or nil if it was dropped to keep within the limit. Once.
    func wait() throws -> Snapshot.Listing? {
        done.wait()
        lookahead.taken()
        let s = state.withLock { $0 }
        switch s {
        case .kept(let listing):
            lookahead.listed.release(listing.children.count)
            return listing
        case .failed(let e): throw e
        case .dropped, .pending, .discarded: return nil
        }
    }

    /// Gives up a listing the walk will not take (nor the ones it submitted), at once or when
    /// it is filled in. Instead of `wait`.
    func discard() {
        let kept = state.withLock { s -> Snapshot.Listing? in
            defer { s = .discarded }
            if case .kept(let listing) = s { return listing }
            return nil
        }
        lookahead.taken()
        guard let kept else { return }
        lookahead.listed.release(kept.children.count)
        for f in kept.ahead.values { f.discard() }
    }
}
