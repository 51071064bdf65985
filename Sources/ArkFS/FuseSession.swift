import ArkCore
import CArkFuse
import CFuse
import Foundation
import Logging

/// Binds a `Filesystem` to the kernel through libfuse's low-level API: mounts, runs the
/// multi-threaded loop until unmounted or signalled (SIGINT/SIGTERM/SIGHUP), unmounts.
public final class FuseSession: @unchecked Sendable { // `session` is set before the loop starts and only read afterwards
    public let fs: Filesystem
    public let mountpoint: String
    let logger = Logger(label: "ark.fuse")
    var session: OpaquePointer?
    private let onReady: @Sendable () -> Void
    private var options: [String]

    /// `onReady` runs once the kernel has initialised the mount (it is serving).
    public init(fs: Filesystem, mountpoint: String, fsname: String, allowOther: Bool, onReady: @escaping @Sendable () -> Void) {
        self.fs = fs
        self.mountpoint = mountpoint
        self.onReady = onReady
        var o = "ro,default_permissions,subtype=ark,fsname=\(fsname.replacingOccurrences(of: ",", with: "_"))"
        if allowOther { o += ",allow_other" }
        options = ["ark", "-o", o]
    }

    /// Mounts and serves until unmounted or signalled. Returns after a clean unmount.
    public func run(threads: Int = 16) throws {
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
        session = se
        defer { fuse_session_destroy(se); session = nil }
        guard fuse_session_mount(se, mountpoint) == 0 else {
            throw ArkError(.io, "cannot mount at \(mountpoint) (is fuse3 installed and /dev/fuse usable?)")
        }
        defer { fuse_session_unmount(se) }
        guard fuse_set_signal_handlers(se) == 0 else { throw ArkError(.io, "cannot install signal handlers") }
        defer { fuse_remove_signal_handlers(se) }
        let r = ark_fuse_session_loop_mt(se, UInt32(threads))
        if r != 0 && r != -EINTR && r != SIGINT && r != SIGTERM && r != SIGHUP {
            logger.warning("FUSE loop ended with \(r)")
        }
    }

    /// Ends the loop (as a signal would); `run` then unmounts and returns.
    public func exit() { if let session { fuse_session_exit(session) } }

    func ready() { onReady() }

    /// Tells the kernel to forget cached entries and attributes of the browser's changing
    /// directories (called when heads move). Immutable content is left cached.
    public func invalidateMutable() {
        guard let se = session else { return }
        for slot in fs.inodes.mutableSlots() {
            if case .link = slot.node {
                _ = slot.name.withCString { fuse_lowlevel_notify_inval_entry(se, fuse_ino_t(slot.parent), $0, slot.name.bytes.count) }
            }
            _ = fuse_lowlevel_notify_inval_inode(se, fuse_ino_t(slot.ino), 0, 0)
        }
    }
}
