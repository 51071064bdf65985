import ArgumentParser
import ArkCore
import Foundation
import Glibc

struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount an ark mount.",
        discussion:
            "--force aborts the FUSE connection (/sys/fs/fuse/connections/N/abort) and detaches lazily: for a hung or stale mount whose server died."
    )

    @Argument(help: "Mountpoint.") var mountpoint: String
    @Flag(help: "Abort the connection and detach even if busy or hung.") var force = false

    func run() throws {
        let mp = MountTable.absolute(mountpoint)
        guard let entry = MountTable.entry(at: mp) else { throw ArkError(.invalidArgument, "\(mountpoint) is not mounted") }
        guard entry.fstype.hasPrefix("fuse") else {
            throw ArkError(.invalidArgument, "\(mountpoint) is not a FUSE mount (\(entry.fstype))")
        }
        if force {
            abortConnection(minor: entry.minor)
            try detach(mp, lazy: true)
        } else {
            try detach(mp, lazy: false)
        }
    }

    private func abortConnection(minor: Int) {
        let dir = "/sys/fs/fuse/connections"
        if access("\(dir)/\(minor)", F_OK) != 0 { _ = Glibc.mount("fusectl", dir, "fusectl", 0, nil) }
        let fd = open("\(dir)/\(minor)/abort", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { Terminal.err("ark: warning: cannot abort FUSE connection \(minor): \(Errno.current)"); return }
        _ = "1".withCString { write(fd, $0, 1) }
        close(fd)
    }

    private func detach(_ mp: String, lazy: Bool) throws {
        if umount2(mp, lazy ? Int32(MNT_DETACH) : 0) == 0 { return }
        let e = Errno.current
        if e.rawValue == EBUSY { throw ArkError(.busy, "\(mountpoint) is busy (files are open there); close them or use --force") }
        guard e.rawValue == EPERM, let fm = MountPreflight.findExecutable("fusermount3") else {
            throw ArkError(.io, "cannot unmount \(mountpoint): \(e)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: fm)
        p.arguments = [lazy ? "-uz" : "-u", mp]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ArkError(.io, "fusermount3 could not unmount \(mountpoint)") }
    }
}
