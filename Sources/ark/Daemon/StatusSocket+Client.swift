import ArkCore
import Foundation
import Glibc

extension StatusSocket {
    /// What asking a store's daemon for its state gave.
    enum Probe {
        case running(DaemonStatus)
        /// No socket, or a stale one nobody listens on.
        case notRunning
        /// A daemon is there but did not answer properly (named).
        case unreachable(String)
    }

    /// Connects to `<store>/daemon.sock` and reads the status document (at most `timeout` s).
    static func query(store: String, timeout: Double = 3) -> Probe {
        let path = store + "/" + fileName
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .unreachable("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        do { connected = try withAddress(path) { connect(fd, $0, $1) } } catch { return .unreachable("\(error)") }
        if connected != 0 {
            let e = errno
            if e == ENOENT || e == ECONNREFUSED { return .notRunning }
            return .unreachable("\(path): \(String(cString: strerror(e)))")
        }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 { data += buffer[0..<n]; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .unreachable("\(path): no answer within \(Int(timeout)) s") }
            return .unreachable("\(path): \(String(cString: strerror(errno)))")
        }
        do { return .running(try JSONDecoder().decode(DaemonStatus.self, from: Data(data))) } catch {
            return .unreachable("\(path): malformed status document (\(error))")
        }
    }
}
