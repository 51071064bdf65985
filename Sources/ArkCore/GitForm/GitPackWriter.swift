import CZlib

/// Writes a git pack file (version 2) to a sink: the 12-byte header, each object as its
/// type-and-size varint and its zlib-deflated content (a `REF_DELTA` object: the delta's size,
/// its base's id, the deflated delta), and the SHA-1 of everything before as the trailer.
/// Content can be fed in pieces, so a large blob streams through bounded memory.
package final class GitPackWriter {
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var hash = GitSHA1()
    private var buffer: [UInt8] = []
    private var stream = z_stream()
    /// Whether `stream` is initialised (it is reset, not rebuilt, for each object).
    private var initialised = false
    private var deflating = false
    private var out = [UInt8](repeating: 0, count: 1 << 16)
    private var remaining: UInt64 = 0
    package private(set) var objectsWritten = 0
    package private(set) var bytesWritten: UInt64 = 0
    private let expected: Int

    /// Writes the header for `count` objects.
    package init(count: Int, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        self.sink = sink
        self.expected = count
        buffer.reserveCapacity(1 << 17)
        var header = Array("PACK".utf8) + [0, 0, 0, 2]
        for shift in stride(from: 24, through: 0, by: -8) { header.append(UInt8(truncatingIfNeeded: UInt32(count) >> UInt32(shift))) }
        try emit(header)
    }

    deinit { if initialised { deflateEnd(&stream) } }

    private func emit(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= 1 << 16 { try drain() }
    }

    private func drain() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { b in
            hash.update(b)
            try sink(b)
        }
        bytesWritten += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// An object's type-and-size varint.
    static func header(_ type: GitObjectType, size: UInt64) -> [UInt8] { header(type: type.rawValue, size: size) }

    /// The pack type of an object sent as a delta against an object named by its id.
    static let refDelta: UInt8 = 7

    static func header(type: UInt8, size: UInt64) -> [UInt8] {
        var header: [UInt8] = []
        var s = size
        var byte = UInt8(type << 4) | UInt8(s & 0x0f)
        s >>= 4
        while s > 0 {
            header.append(byte | 0x80)
            byte = UInt8(s & 0x7f)
            s >>= 7
        }
        header.append(byte)
        return header
    }

    /// A whole object of `size` content bytes deflated beforehand (`GitDeflater`).
    package func deflatedObject(_ type: GitObjectType, size: UInt64, _ deflated: [UInt8]) throws {
        precondition(!deflating, "object not ended")
        try emit(Self.header(type, size: size))
        try emit(deflated)
        objectsWritten += 1
    }

    /// An object sent as a delta (`GitDelta`) of `size` bytes, deflated beforehand, against the
    /// object with git id `base`, which the same pack carries.
    package func deflatedDelta(base: [UInt8], size: UInt64, _ deflated: [UInt8]) throws {
        precondition(!deflating, "object not ended")
        try emit(Self.header(type: Self.refDelta, size: size))
        try emit(base)
        try emit(deflated)
        objectsWritten += 1
    }

    /// Starts an object of `size` content bytes; feed them with `content`, then `endObject`.
    package func beginObject(_ type: GitObjectType, size: UInt64) throws {
        precondition(!deflating, "object not ended")
        try emit(Self.header(type, size: size))
        if initialised {
            guard deflateReset(&stream) == Z_OK else { throw ArkError(.io, "zlib: cannot reset the deflate stream") }
        } else {
            guard deflateInit_(&stream, 1, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw ArkError(.io, "zlib: cannot start a deflate stream")
            }
            initialised = true
        }
        deflating = true
        remaining = size
    }

    /// Feeds part of the current object's content.
    package func content(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard UInt64(bytes.count) <= remaining else { throw ArkError(.malformed, "git pack: object longer than its header says") }
        remaining -= UInt64(bytes.count)
        try deflate(bytes, flush: Z_NO_FLUSH)
    }

    package func content(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try content($0) } }

    package func endObject() throws {
        guard remaining == 0 else {
            throw ArkError(.malformed, "git pack: object shorter than its header says (\(remaining) bytes missing)")
        }
        try deflate(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        deflating = false
        objectsWritten += 1
    }

    /// A whole object at once.
    package func object(_ type: GitObjectType, _ bytes: [UInt8]) throws {
        try beginObject(type, size: UInt64(bytes.count))
        try content(bytes)
        try endObject()
    }

    private func deflate(_ input: UnsafeRawBufferPointer, flush: Int32) throws {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)
        while true {
            let (rc, produced) = out.withUnsafeMutableBufferPointer { o -> (Int32, Int) in
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                let rc = CZlib.deflate(&stream, flush)
                return (rc, o.count - Int(stream.avail_out))
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else { throw ArkError(.io, "zlib: deflate failed (\(rc))") }
            if produced > 0 { try emit(Array(out[..<produced])) }
            if flush == Z_FINISH { if rc == Z_STREAM_END { return } } else if stream.avail_in == 0 && produced < out.count { return }
        }
    }

    /// Writes the trailer; returns the pack's SHA-1.
    @discardableResult
    package func finish() throws -> [UInt8] {
        guard objectsWritten == expected else {
            throw ArkError(.malformed, "git pack: header announced \(expected) objects, \(objectsWritten) written")
        }
        try drain()
        var h = hash
        let trailer = h.finish()
        try trailer.withUnsafeBytes { try sink($0) }
        bytesWritten += 20
        return trailer
    }
}

/// Deflates whole objects into memory for a pack (level 1, as `GitPackWriter`), one zlib
/// stream reset for each; used by one thread at a time.
package final class GitDeflater: @unchecked Sendable {  // one thread at a time: owned by GitDeflateAhead's serial queue
    private var stream = z_stream()
    private var initialised = false

    package init() {}

    deinit { if initialised { deflateEnd(&stream) } }

    package func deflate(_ input: [UInt8]) throws -> [UInt8] {
        guard input.count < Int(UInt32.max / 2) else {
            throw ArkError(.unsupported, "git pack: object of \(input.count) bytes to deflate at once")
        }
        if initialised {
            guard deflateReset(&stream) == Z_OK else { throw ArkError(.io, "zlib: cannot reset the deflate stream") }
        } else {
            guard deflateInit_(&stream, 1, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw ArkError(.io, "zlib: cannot start a deflate stream")
            }
            initialised = true
        }
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        var rc: Int32 = 0
        let out = try [UInt8](unsafeUninitializedCapacity: bound) { o, n in
            n = 0
            try input.withUnsafeBytes { i in
                stream.next_in = UnsafeMutablePointer(mutating: i.baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.avail_in = UInt32(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(bound)
                rc = CZlib.deflate(&stream, Z_FINISH)
                guard rc == Z_STREAM_END else { throw ArkError(.io, "zlib: deflate failed (\(rc))") }
                n = bound - Int(stream.avail_out)
            }
        }
        return out
    }
}
