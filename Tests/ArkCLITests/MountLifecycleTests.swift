import Foundation
import Glibc
import Testing

/// Mounting, readiness, shutdown, stale mounts, refusals, the fstab helper and systemd.
@Suite(.serialized, .enabled(if: FuseSupport.shouldRun))
struct MountLifecycleTests {
    private func fixture() throws -> MountFixture {
        let f = MountFixture()
        try f.dir.write("src/hello.txt", "hello\n")
        _ = try f.commit()
        return f
    }

    @Test func sigtermUnmountsCleanlyAndExitsZero() throws {
        try FuseSupport.require()
        let f = try fixture()
        let mp = try f.mountpoint()
        let p = try ArkProcess.start(["mount", "demo", mp], cwd: f.dir.path)
        #expect(MountFixture.waitMounted(mp))
        #expect(try String(contentsOfFile: mp + "/hello.txt", encoding: .utf8) == "hello\n")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(!MountFixture.isMounted(mp))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mp).isEmpty)
    }

    @Test func daemonReturnsOnlyWhenServing() throws {
        try FuseSupport.require()
        let f = try fixture()
        let mp = try f.mountpoint()
        let r = try ArkProcess.run(["mount", "--daemon", "demo", mp], cwd: f.dir.path)
        #expect(r.ok, "\(r.stderr)")
        defer { _ = try? ArkProcess.run(["unmount", mp], cwd: f.dir.path) }
        // No sleep, no polling: the mount must already serve.
        #expect(MountFixture.isMounted(mp))
        #expect(try String(contentsOfFile: mp + "/hello.txt", encoding: .utf8) == "hello\n")
        let u = try ArkProcess.run(["unmount", mp], cwd: f.dir.path)
        #expect(u.ok, "\(u.stderr)")
        #expect(!MountFixture.isMounted(mp))
    }

    @Test func killedServerIsDetectedAndForceUnmounted() throws {
        try FuseSupport.require()
        let f = try fixture()
        let mp = try f.mountpoint()
        let p = try ArkProcess.start(["mount", "demo", mp], cwd: f.dir.path)
        #expect(MountFixture.waitMounted(mp))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        var st = stat()
        #expect(stat(mp, &st) == -1 && errno == ENOTCONN)
        let again = try ArkProcess.run(["mount", "demo", mp], cwd: f.dir.path)
        #expect(!again.ok && again.stderr.contains("stale") && again.stderr.contains("unmount --force"), "\(again.stderr)")
        let u = try ArkProcess.run(["unmount", "--force", mp], cwd: f.dir.path)
        #expect(u.ok, "\(u.stderr)")
        #expect(!MountFixture.isMounted(mp))
        #expect(stat(mp, &st) == 0)
    }

    @Test func refusals() throws {
        try FuseSupport.require()
        let f = try fixture()
        let notEmpty = try f.mountpoint("full")
        try f.dir.write("full/x", "x")
        let cases: [([String], String)] = [
            (["mount", "demo", f.dir.file("missing")], "does not exist"),
            (["mount", "demo", notEmpty], "not empty"),
            (["mount", "demo", f.store + "/packs"], "inside the store"),
            (["mount", "nope", try f.mountpoint("m1")], "unknown revision"),
            (["mount", "demo", f.dir.file("src/hello.txt")], "not a directory"),
            (["unmount", try f.mountpoint("m2")], "not mounted")
        ]
        for (args, message) in cases {
            let r = try ArkProcess.run(args, cwd: f.dir.path)
            #expect(!r.ok, "\(args)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("ark: ") && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    @Test func fstabHelperMountsWithMountCommand() throws {
        try FuseSupport.require()
        try #require(getuid() == 0 || !FuseSupport.inCI, "mount -t fuse.ark needs root")
        guard getuid() == 0 else { return }
        let f = try fixture()
        try f.dir.write("ark.toml", "[store]\npath = \"./data\"\n")
        let mp = try f.mountpoint()
        let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("mount-scripts/mount.ark").path
        // mount(8) looks for /sbin/mount.fuse.ark; install the helper there for the test.
        let installed = "/sbin/mount.fuse.ark"
        try #require(try sh("install -m 0755 '\(helper)' \(installed)").status == 0)
        defer { unlink(installed) }
        let r = try sh(
            "ARK_BIN='\(ArkProcess.binary)' mount -t fuse.ark -o config=\(f.dir.file("ark.toml")),allow_other,_netdev demo '\(mp)'")
        #expect(r.status == 0, "\(r.err)")
        defer { _ = try? sh("umount '\(mp)'") }
        #expect(try String(contentsOfFile: mp + "/hello.txt", encoding: .utf8) == "hello\n")
        #expect(try sh("grep ' \(mp) ' /proc/self/mountinfo").out.contains("allow_other"))
        #expect(try sh("umount '\(mp)'").status == 0)
        #expect(!MountFixture.isMounted(mp))
    }

    @Test func systemdReadinessNotification() throws {
        try FuseSupport.require()
        let f = try fixture()
        let mp = try f.mountpoint()
        let socketPath = f.dir.file("notify.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let p = try ArkProcess.start(["mount", "demo", mp], cwd: f.dir.path, env: ["NOTIFY_SOCKET": socketPath])
        var buf = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buf, buf.count, 0)
        #expect(n > 0 && String(decoding: buf[0..<max(n, 0)], as: UTF8.self).contains("READY=1"))
        #expect(MountFixture.isMounted(mp))
        #expect(try String(contentsOfFile: mp + "/hello.txt", encoding: .utf8) == "hello\n")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }
}
