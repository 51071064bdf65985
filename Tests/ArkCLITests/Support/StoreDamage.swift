import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Damages a store on purpose, the way a failing disk would.
enum StoreDamage {
    /// Flips the bits of `mask` in the byte at `offset` of the (read-only) pack `path`.
    static func flipByte(at offset: UInt64, in path: String, mask: UInt8 = 0x01,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        chmod(path, 0o644)
        let fd = open(path, O_RDWR)
        try #require(fd >= 0, "cannot open \(path)", sourceLocation: sourceLocation)
        defer { close(fd) }
        var byte: UInt8 = 0
        try #require(pread(fd, &byte, 1, off_t(offset)) == 1, sourceLocation: sourceLocation)
        byte ^= mask
        try #require(pwrite(fd, &byte, 1, off_t(offset)) == 1, sourceLocation: sourceLocation)
    }
}
