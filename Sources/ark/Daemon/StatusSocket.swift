import ArkCore
import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix

/// The daemon's status endpoint: a unix domain socket at `<store>/daemon.sock`, mode 0600,
/// that writes one JSON `DaemonStatus` to each connection and closes it. The document is
/// built when a client connects, so it is always current and nothing is written while
/// nobody asks.
///
/// One daemon per store serves it: a socket file that still accepts connections belongs to
/// another live daemon and is left alone; one that refuses them is stale and replaced.
final class StatusSocket: Sendable {
    static let fileName = "daemon.sock"

    let path: String
    private let channel: any Channel
    private let inode: UInt64

    private init(path: String, channel: any Channel, inode: UInt64) {
        self.path = path
        self.channel = channel
        self.inode = inode
    }

    /// Starts serving `document()`; nil (with a log line) when another daemon serves this
    /// store or the socket cannot be created.
    static func start(
        store: String, group: any EventLoopGroup, logger: Logger,
        document: @escaping @Sendable () -> DaemonStatus
    ) async -> StatusSocket? {
        let path = store + "/" + fileName
        let fd: Int32
        do {
            guard let bound = try bind(path) else {
                logger.notice("another daemon serves \(path); this one's status is not published")
                return nil
            }
            fd = bound
        } catch {
            logger.warning("status socket unavailable: \(error)")
            return nil
        }
        var st = stat()
        let inode = stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do {
            let channel = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let body = (try? encoder.encode(document())) ?? Data("{}".utf8)
                        try channel.pipeline.syncOperations.addHandler(StatusResponder(body: [UInt8](body)))
                    }
                }
                .withBoundSocket(fd).get()
            return StatusSocket(path: path, channel: channel, inode: inode)
        } catch {
            close(fd)
            unlink(path)
            logger.warning("status socket unavailable: \(error)")
            return nil
        }
    }

    /// Stops serving and removes the socket file, unless another daemon replaced it meanwhile.
    func stop() async {
        try? await channel.close()
        var st = stat()
        if stat(path, &st) == 0, UInt64(st.st_ino) == inode { unlink(path) }
    }

    /// A bound, 0600 socket at `path` (not listening yet), replacing a stale socket file; nil
    /// when a live daemon is listening there.
    private static func bind(_ path: String) throws -> Int32? {
        for attempt in 0..<2 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw ArkError(.io, "socket: \(String(cString: strerror(errno)))") }
            let r = try withAddress(path) { Glibc.bind(fd, $0, $1) }
            if r == 0 {
                // Before listen(): nobody can connect while the mode is still the umask's.
                // Not through a symlink swapped in since bind(): that fails (EOPNOTSUPP).
                guard fchmodat(AT_FDCWD, path, 0o600, AT_SYMLINK_NOFOLLOW) == 0 else {
                    let e = errno
                    close(fd)
                    unlink(path)
                    throw ArkError(.io, "chmod \(path): \(String(cString: strerror(e)))")
                }
                return fd
            }
            let e = errno
            close(fd)
            guard e == EADDRINUSE, attempt == 0 else { throw ArkError(.io, "bind \(path): \(String(cString: strerror(e)))") }
            if isLive(path) { return nil }
            unlink(path)  // stale: left by a daemon that was killed
        }
        return nil
    }

    /// True when something accepts connections at `path`.
    static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return (try? withAddress(path) { connect(fd, $0, $1) }) == 0
    }

    /// Calls `body` with a `sockaddr_un` for `path`. A path too long for `sun_path` (108 bytes)
    /// is reached through its directory's descriptor: `/proc/self/fd/N/daemon.sock`.
    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws -> T {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            let directory = (path as NSString).deletingLastPathComponent
            let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { throw ArkError(.io, "cannot open \(directory): \(String(cString: strerror(errno)))") }
            defer { close(dir) }
            let short = "/proc/self/fd/\(dir)/\((path as NSString).lastPathComponent)"
            guard short.utf8.count < capacity else { throw ArkError(.invalidArgument, "socket path \(path) is too long") }
            return try withAddress(short, body)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// Writes the status document to a new connection and closes it.
private final class StatusResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let body: [UInt8]

    init(body: [UInt8]) { self.body = body }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: body))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // requests carry nothing
}
