import Foundation
import Glibc
import Testing

extension MountLifecycleTests {
    /// A history-browser mount invalidates its changing directories whenever heads move. While
    /// another process keeps committing, the mount is unmounted (or sent SIGTERM) again and
    /// again: each time the server stops its head watcher before freeing the FUSE session and
    /// exits 0.
    @Test func unmountWhileHeadsMoveExitsZero() throws {
        try FuseSupport.require()
        let f = MountFixture()
        try f.dir.write("src/n.txt", "0\n")
        _ = try f.commit()
        // Commits in a loop, each moving the head, until the test ends.
        let loop = Process()
        loop.executableURL = URL(fileURLWithPath: "/bin/sh")
        loop.arguments = [
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > src/n.txt; '\(ArkProcess.binary)' commit src --repo demo -m \"$i\" >/dev/null 2>&1; sleep 0.05; done"
        ]
        loop.currentDirectoryURL = URL(fileURLWithPath: f.dir.path)
        loop.standardInput = FileHandle.nullDevice
        loop.standardOutput = FileHandle.nullDevice
        loop.standardError = FileHandle.nullDevice
        try loop.run()
        defer { kill(loop.processIdentifier, SIGKILL); loop.waitUntilExit() }
        let mp = try f.mountpoint()
        for round in 1...30 {
            let p = try ArkProcess.start(["mount", mp], cwd: f.dir.path)
            try #require(MountFixture.waitMounted(mp), "round \(round): not mounted")
            // Look at the moving heads so the kernel holds entries the watcher invalidates.
            for _ in 0..<3 {
                _ = try sh("ls -l '\(mp)/repos/demo/heads' >/dev/null; cat '\(mp)'/repos/demo/heads/*/n.txt >/dev/null")
                usleep(UInt32.random(in: 20_000...120_000))
            }
            // Move the head once more and unmount at once: the watcher wakes up for that
            // commit while the mount is being torn down.
            _ = try ArkProcess.run(["commit", "src", "--repo", "demo", "--allow-empty", "-m", "round \(round)"], cwd: f.dir.path)
            if round % 3 == 0 {
                // Or end it with SIGTERM, as a service manager would.
                kill(p.processIdentifier, SIGTERM)
            } else {
                var u = try ArkProcess.run(["unmount", mp], cwd: f.dir.path)
                // Busy for a moment while a listing above is still being released: try again.
                for _ in 0..<50 where !u.ok && u.stderr.contains("busy") {
                    usleep(100_000)
                    u = try ArkProcess.run(["unmount", mp], cwd: f.dir.path)
                }
                #expect(u.ok, "round \(round): \(u.stderr)")
            }
            p.waitUntilExit()
            #expect(
                p.terminationReason == .exit && p.terminationStatus == 0,
                "round \(round): the mount process ended with \(p.terminationReason == .exit ? "status" : "signal") \(p.terminationStatus)")
            #expect(!MountFixture.isMounted(mp))
        }
    }
}
