import ArkCore
import CArkFuse
import CFuse
import Foundation
import Logging
import Synchronization

/// Binds a `Filesystem` to the kernel through libfuse's low-level API: mounts, runs the
/// multi-threaded loop until unmounted or signalled (SIGINT/SIGTERM/SIGHUP), unmounts.
package final class FuseSession: @unchecked Sendable {  // `session`, `closed` and `notifying` are guarded by `gate`
    package let fs: Filesystem
    package let mountpoint: String
    let logger = Logger(label: "ark.fuse")
    private var session: OpaquePointer?
    /// Guards the session pointer against teardown: notifications (from the head watcher's
    /// thread) run only while it is open, and teardown waits for one in flight.
    private let gate = NSLock()
    private var closed = false
    private var notifying = 0
    private let onReady: @Sendable () -> Void
    private var options: [String]
    /// The kernel opens directories without asking (`FUSE_CAP_NO_OPENDIR_SUPPORT`, set at
    /// init): opendir answers ENOSYS once and the kernel sends neither opendir nor releasedir
    /// again, caching every directory's entries (`cache_readdir` is its default then). A walk
    /// then costs no request per directory warm and two (readdirplus and its end) cold,
    /// instead of four.
    let skipsOpendir = Atomic<Bool>(false)
    /// Listings made for readdir calls without an opendir handle, most recent last: a listing
    /// begun at offset 0 is read on from the same `DirListing`, so its offsets stay those of
    /// one snapshot (a history directory can change between calls) and a directory larger
    /// than the tree cache is decoded once per listing, not once per call.
    let recentListings = Mutex<[(ino: UInt64, listing: DirListing)]>([])
    static let recentListingsKept = 64
    /// Which callers get files' attributes in readdirplus replies.
    let listingPolicy = ListingPolicy()

    /// `onReady` runs once the kernel has initialised the mount (it is serving).
    package init(fs: Filesystem, mountpoint: String, fsname: String, allowOther: Bool, onReady: @escaping @Sendable () -> Void) {
        self.fs = fs
        self.mountpoint = mountpoint
        self.onReady = onReady
        var o = "ro,default_permissions,subtype=ark,fsname=\(fsname.replacingOccurrences(of: ",", with: "_"))"
        if allowOther { o += ",allow_other" }
        options = ["ark", "-o", o]
    }

    /// Mounts and serves until unmounted or signalled. Returns after a clean unmount.
    /// `beforeDestroy` runs after the loop ended and the mount is gone, before the session is
    /// freed: stop (and join) there whatever may still call `invalidateMutable`. If it returns
    /// false (something may still be inside a notification), the session is not freed: the
    /// process exit reclaims it.
    package func run(threads: Int = 16, beforeDestroy: () -> Bool = { true }) throws {
        var ops = Self.operations()
        let me = Unmanaged.passRetained(self)
        defer { me.release() }
        let cArgs = options.map { strdup($0) }
        defer { cArgs.forEach { free($0) } }
        var argv = cArgs.map { UnsafePointer<CChar>($0) }
        let se = argv.withUnsafeMutableBufferPointer { buf in
            ark_fuse_session_new(Int32(buf.count), buf.baseAddress, &ops, me.toOpaque())
        }
        guard let se else { throw ArkError(.io, "cannot create a FUSE session (bad mount options?)") }
        gate.withLock {
            session = se; closed = false
        }
        var mounted = false
        defer {
            // No notification through the session from here on (one in flight is waited
            // out), then unmount, then the caller's watchers stop, then the session is freed.
            closeGate()
            if mounted { fuse_session_unmount(se) }
            // No request arrives any more: the load threads end once their loads did (a
            // load still waiting for a peer after 2 s ends on its own).
            if !fs.shutdown(timeout: 2) { logger.info("loads still waiting at unmount; their threads end with them") }
            if beforeDestroy() {
                gate.withLock { session = nil }
                fuse_session_destroy(se)
            } else {
                logger.warning("a notification to the kernel is still in progress; the FUSE session is left for the process exit to free")
            }
        }
        guard fuse_session_mount(se, mountpoint) == 0 else {
            throw ArkError(.io, "cannot mount at \(mountpoint) (is fuse3 installed and /dev/fuse usable?)")
        }
        mounted = true
        guard fuse_set_signal_handlers(se) == 0 else { throw ArkError(.io, "cannot install signal handlers") }
        defer { fuse_remove_signal_handlers(se) }
        let r = ark_fuse_session_loop_mt(se, UInt32(threads))
        if r != 0 && r != -EINTR && r != SIGINT && r != SIGTERM && r != SIGHUP {
            logger.warning("FUSE loop ended with \(r)")
        }
    }

    /// Ends the loop (as a signal would); `run` then unmounts and returns.
    package func exit() { gate.withLock { if let session { fuse_session_exit(session) } } }

    func ready() { onReady() }

    /// Closes the gate and waits (up to 2 s) for a notification in flight. One stuck that long
    /// is blocked in the kernel, which holds its own reference to the device; the unmount
    /// that follows ends it.
    private func closeGate() {
        gate.withLock { closed = true }
        let deadline = DispatchTime.now() + 2
        while gate.withLock({ notifying }) > 0 && DispatchTime.now() < deadline { usleep(1000) }
    }

    /// Runs `body` with the session unless teardown has begun.
    private func notify(_ body: (OpaquePointer) -> Void) -> Bool {
        let se: OpaquePointer? = gate.withLock {
            guard !closed, let session else { return nil }
            notifying += 1
            return session
        }
        guard let se else { return false }
        body(se)
        gate.withLock { notifying -= 1 }
        return true
    }

    /// Drops the kernel's cached listings of `directories` (lean ones a caller that stats is
    /// about to walk into), on the tree pool: the request that found them is not delayed.
    func dropListings(_ directories: [UInt64]) {
        guard !directories.isEmpty else { return }
        fs.treePool.submit { [self] in
            for ino in directories {
                guard notify({ se in _ = fuse_lowlevel_notify_inval_inode(se, fuse_ino_t(ino), 0, 0) }) else { return }
            }
        }
    }

    /// Tells the kernel to forget cached entries and attributes of the browser's changing
    /// directories (called when heads move). Immutable content is left cached.
    package func invalidateMutable() {
        recentListings.withLock { recent in recent.removeAll { entry in fs.inodes.node(entry.ino)?.isImmutable != true } }
        for slot in fs.inodes.mutableSlots() {
            let open = notify { se in
                if case .link = slot.node {
                    _ = slot.name.withCString { fuse_lowlevel_notify_inval_entry(se, fuse_ino_t(slot.parent), $0, slot.name.bytes.count) }
                }
                _ = fuse_lowlevel_notify_inval_inode(se, fuse_ino_t(slot.ino), 0, 0)
            }
            guard open else { return }
        }
    }
}
