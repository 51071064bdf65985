import Glibc

/// A C `errno` value, typed (in the manner of swift-system's `Errno`).
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// Reads `errno` now; call immediately after the failing call.
    public static var current: Errno { Errno(rawValue: errno) }
    public var description: String { String(cString: strerror(rawValue)) }

    public static let noEntry = Errno(rawValue: ENOENT)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    public static let invalidArgument = Errno(rawValue: EINVAL)
}

/// Runs a C call returning -1 on failure, retrying on EINTR, and turns failure into an
/// `ArkError` that names the operation and path.
@discardableResult
func syscall<T: FixedWidthInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = Errno.current
        if e == .interrupted { continue }
        throw ArkError(.io, "\(what()): \(e)", errno: e)
    }
}
