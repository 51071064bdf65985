import CZstd
import Synchronization

/// Owns one zstd compression context (`ZSTD_CCtx`); not shareable between threads, so each
/// worker of the write pipeline has its own.
package final class ZstdCompressor: @unchecked Sendable {  // one thread at a time: handed out by CompressorPool
    private let cctx: OpaquePointer
    package let level: Int32

    package init(level: Int32 = 3) {
        cctx = ZSTD_createCCtx()!
        self.level = level
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// Compressed bytes, or nil when compression would not save at least 1/32 of the input
    /// (media and other already-compressed data are then stored raw). A sample of large
    /// inputs is tried first so incompressible chunks cost little.
    package func compressIfSmaller(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard input.count >= 64 else { return nil }
        let sampleSize = 16 << 10
        if input.count > 4 * sampleSize {
            // Probe the middle of the chunk with the fastest level.
            let mid = input.count / 2 - sampleSize / 2
            let sample = UnsafeRawBufferPointer(rebasing: input[mid..<mid + sampleSize])
            guard let c = compress(sample, level: 1), c.count < sampleSize * 15 / 16 else { return nil }
        }
        guard let out = compress(input, level: level), out.count < input.count - input.count / 32 else { return nil }
        return out
    }

    /// `input` compressed with `dictionary` (a similar object's raw bytes) as a raw-content
    /// zstd dictionary, or nil when that does not save at least 1/32 of `bound` bytes.
    package func compress(_ input: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer, smallerThan bound: Int) -> [UInt8]? {
        let capacity = ZSTD_compressBound(input.count)
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, n in
            let r = ZSTD_compress_usingDict(
                cctx, buf.baseAddress, capacity, input.baseAddress, input.count,
                dictionary.baseAddress, dictionary.count, level)
            n = ZSTD_isError(r) != 0 ? 0 : r
        }
        guard !out.isEmpty, out.count < bound - bound / 32 else { return nil }
        return out
    }

    private func compress(_ input: UnsafeRawBufferPointer, level: Int32) -> [UInt8]? {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](unsafeUninitializedCapacity: bound) { buf, n in
            let r = ZSTD_compressCCtx(cctx, buf.baseAddress, bound, input.baseAddress, input.count, level)
            n = ZSTD_isError(r) != 0 ? 0 : r
        }
        if out.isEmpty { return nil }
        out.reserveCapacity(0)
        return out
    }
}

package enum Zstd {
    /// Decompresses a frame that must expand to exactly `rawLength` bytes.
    package static func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        try expand(rawLength) { ZSTD_decompress($0, rawLength, input.baseAddress, input.count) }
    }

    /// Decompresses a frame made with `dictionary` that must expand to exactly `rawLength` bytes.
    package static func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int, dictionary: UnsafeRawBufferPointer) throws -> [UInt8] {
        let dctx = try DecompressionContexts.shared.take()
        defer { DecompressionContexts.shared.give(dctx) }
        return try expand(rawLength) {
            ZSTD_decompress_usingDict(dctx.raw, $0, rawLength, input.baseAddress, input.count, dictionary.baseAddress, dictionary.count)
        }
    }

    /// Runs a zstd decompression call into a new buffer of `rawLength` bytes; anything but
    /// exactly that many bytes is corrupt input.
    private static func expand(_ rawLength: Int, _ call: (UnsafeMutableRawPointer?) -> Int) throws -> [UInt8] {
        var failure: String?
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, n in
            let r = call(UnsafeMutableRawPointer(buf.baseAddress))
            if ZSTD_isError(r) != 0 {
                failure = String(cString: ZSTD_getErrorName(r)); n = 0
            } else if r != rawLength {
                failure = "expanded to \(r) bytes, expected \(rawLength)"; n = 0
            } else {
                n = r
            }
        }
        if let failure { throw ArkError(.corrupt, "zstd: \(failure)") }
        return out
    }
}

/// Hands each worker thread a compressor of its own, reusing contexts across chunks.
final class CompressorPool: Sendable {
    private let free = Mutex<[ZstdCompressor]>([])

    func with<T>(_ body: (ZstdCompressor) -> T) -> T {
        let c = free.withLock { $0.popLast() } ?? ZstdCompressor()
        defer { free.withLock { $0.append(c) } }
        return body(c)
    }
}

/// Decompression contexts kept for reuse: creating one per call (each tree delta read) was a
/// visible share of a git fetch's time. At most 8 are kept; each is used by one thread at a time.
final class DecompressionContexts: Sendable {
    static let shared = DecompressionContexts()

    /// One `ZSTD_DCtx`, owned by whoever took it from the pool.
    struct Context: @unchecked Sendable {  // a raw pointer handed between threads, used by one at a time
        let raw: OpaquePointer
    }

    private let idle = Mutex<[Context]>([])

    func take() throws -> Context {
        if let c = idle.withLock({ $0.popLast() }) { return c }
        guard let raw = ZSTD_createDCtx() else { throw ArkError(.io, "zstd: cannot create a decompression context") }
        return Context(raw: raw)
    }

    func give(_ c: Context) {
        let kept = idle.withLock { list -> Bool in
            guard list.count < 8 else { return false }
            list.append(c)
            return true
        }
        if !kept { ZSTD_freeDCtx(c.raw) }
    }
}
