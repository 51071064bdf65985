import ArkCore
import Foundation
import Glibc

/// The checks before mounting, each a clear refusal naming the problem.
enum MountPreflight {
    static func check(mountpoint: String, store: String) throws {
        var st = stat()
        if stat(mountpoint, &st) != 0 {
            let e = Errno.current
            if e.rawValue == ENOTCONN {
                throw ArkError(
                    .invalidArgument, "\(mountpoint) is a stale mount left by a process that died; run 'ark unmount --force \(mountpoint)'")
            }
            if e == .noEntry { throw ArkError(.invalidArgument, "mountpoint \(mountpoint) does not exist") }
            throw ArkError(.invalidArgument, "cannot use mountpoint \(mountpoint): \(e)")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw ArkError(.invalidArgument, "mountpoint \(mountpoint) is not a directory") }
        if let m = MountTable.entry(at: MountTable.absolute(mountpoint)) {
            throw ArkError(.invalidArgument, "\(mountpoint) is already a mount point (\(m.fstype)); unmount it first")
        }
        let real = URL(fileURLWithPath: mountpoint).resolvingSymlinksInPath().path
        let storeReal = URL(fileURLWithPath: store).resolvingSymlinksInPath().path
        if real == storeReal || real.hasPrefix(storeReal + "/") {
            throw ArkError(.invalidArgument, "mountpoint \(mountpoint) is inside the store \(store); choose a directory outside it")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: mountpoint)) ?? []
        guard contents.isEmpty else { throw ArkError(.invalidArgument, "mountpoint \(mountpoint) is not empty") }
        try checkFuse()
    }

    static func checkFuse() throws {
        let fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            let e = Errno.current
            throw ArkError(
                .unsupported,
                "FUSE is not available (/dev/fuse: \(e)); install the fuse3 package (apt-get install fuse3) and load the fuse module")
        }
        close(fd)
        if getuid() != 0 && findExecutable("fusermount3") == nil {
            throw ArkError(.unsupported, "fusermount3 is missing; install the fuse3 package (apt-get install fuse3)")
        }
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 { return "\(dir)/\(name)" }
        return nil
    }
}
