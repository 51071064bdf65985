import CArkIO
import Glibc

/// A pipe that O_DIRECT reads of packs go through: splice(2) has the disk's DMA fill fresh
/// kernel pages of the pipe, and `drain` copies them into the caller's reused buffer, after
/// which the kernel frees those pages. A `pread` with O_DIRECT into the same reused buffer
/// leaves no freed pages behind, so every page the mount's reads then add to the page cache
/// is a page that nothing touched before and that the CPU itself must fill, which costs
/// far more where untouched memory is handed back to a hypervisor (free page reporting in
/// VMs: docs/benchmarks-archive.md, session 7). The pages a splice frees were just filled by the
/// device and read once, and the page cache reuses them.
final class SplicePipe: @unchecked Sendable {  // used by one reader at a time, or idle in a pool
    let readEnd: Int32
    let writeEnd: Int32
    /// Bytes the pipe holds (1 MiB where pipe-max-size allows, else what the kernel gave).
    let capacity: Int

    init?() {
        var fds: [Int32] = [-1, -1]
        guard ark_pipe_cloexec(&fds) == 0 else { return nil }
        readEnd = fds[0]
        writeEnd = fds[1]
        let size = ark_pipe_set_size(writeEnd, 1 << 20)
        capacity = size >= 4096 ? Int(size) / 4096 * 4096 : 4096 * 16
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Reads exactly the `count` bytes the last splice put in the pipe into `base`; false on
    /// an error (then the pipe may hold bytes and must not be reused).
    func drain(_ count: Int, into base: UnsafeMutableRawPointer) -> Bool {
        var got = 0
        while got < count {
            let r = Glibc.read(readEnd, base + got, count - got)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { return false }
            got += r
        }
        return true
    }
}
