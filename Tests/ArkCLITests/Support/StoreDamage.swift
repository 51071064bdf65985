import Foundation
import Glibc
import Testing

/// Damages a store on purpose, the way a failing disk would.
enum StoreDamage {
    /// Flips the bits of `mask` in the byte at `offset` of the (read-only) pack `path`.
    static func flipByte(
        at offset: UInt64, in path: String, mask: UInt8 = 0x01,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        chmod(path, 0o644)
        let fd = open(path, O_RDWR)
        try #require(fd >= 0, "cannot open \(path)", sourceLocation: sourceLocation)
        defer { close(fd) }
        var byte: UInt8 = 0
        try #require(pread(fd, &byte, 1, off_t(offset)) == 1, sourceLocation: sourceLocation)
        byte ^= mask
        try #require(pwrite(fd, &byte, 1, off_t(offset)) == 1, sourceLocation: sourceLocation)
    }

    /// Swaps the `count` bytes at `a` with those at `b` in the (read-only) pack `path`.
    static func swap(
        _ count: Int, at a: UInt64, with b: UInt64, in path: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        chmod(path, 0o644)
        let fd = open(path, O_RDWR)
        try #require(fd >= 0, "cannot open \(path)", sourceLocation: sourceLocation)
        defer { close(fd) }
        var x = [UInt8](repeating: 0, count: count), y = x
        try #require(pread(fd, &x, count, off_t(a)) == count && pread(fd, &y, count, off_t(b)) == count, sourceLocation: sourceLocation)
        try #require(pwrite(fd, y, count, off_t(a)) == count && pwrite(fd, x, count, off_t(b)) == count, sourceLocation: sourceLocation)
    }
}
