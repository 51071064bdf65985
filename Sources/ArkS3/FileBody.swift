import ArkCore
import AsyncHTTPClient
import Crypto
import NIOCore
import NIOPosix
import Synchronization

/// A request body read from a file a piece at a time as it is sent (a pack going up in one
/// PUT), so an upload holds one piece in memory, not the whole file. Each attempt reads the
/// file again from the start. The reads run on NIO's thread pool, not on the event loop the
/// mount's ranged GETs share. A read that fails is this node's disk, not the server: the
/// attempt's error is kept (`readFailure`) and `S3Client.send` throws it as it is, without
/// retrying or counting the server unreachable.
package final class FileBody: Sendable {
    static let pieceSize = 1 << 20
    let file: ReadOnlyFile
    let length: Int
    private let failure = Mutex<ArkError?>(nil)

    init(file: ReadOnlyFile, length: Int) {
        self.file = file
        self.length = length
    }

    /// Why the last attempt's body could not be read, if it could not.
    var readFailure: ArkError? { failure.withLock { $0 } }

    /// The body's SHA-256 (for a signed payload), read piece by piece.
    func sha256Hex() throws -> String {
        var hash = SHA256()
        var offset = 0
        while offset < length {
            let n = min(Self.pieceSize, length - offset)
            try file.read(offset: UInt64(offset), length: n).withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
            offset += n
        }
        return hash.finalize().lowerHex
    }

    var requestBody: HTTPClient.Body {
        .stream(contentLength: Int64(length)) { writer in
            self.write(to: writer, from: 0, on: MultiThreadedEventLoopGroup.singleton.any())
        }
    }

    /// Reads the piece at `offset` on the thread pool, writes it once read, then the next.
    private func write(to writer: HTTPClient.Body.StreamWriter, from offset: Int, on loop: any EventLoop) -> EventLoopFuture<Void> {
        let n = min(Self.pieceSize, length - offset)
        let file = self.file
        return NIOThreadPool.singleton.runIfActive(eventLoop: loop) { try file.read(offset: UInt64(offset), length: n) }
            .flatMapError { error in
                let e = error as? ArkError ?? ArkError(.io, "cannot read \(file.path) for upload: \(error)")
                self.failure.withLock { $0 = e }
                return loop.makeFailedFuture(e)
            }
            .flatMap { piece in writer.write(.byteBuffer(piece)) }
            .flatMap { offset + n < self.length ? self.write(to: writer, from: offset + n, on: loop) : loop.makeSucceededVoidFuture() }
    }
}
