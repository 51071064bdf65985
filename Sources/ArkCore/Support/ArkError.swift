/// The one error type of ArkCore: a stable code, a one-line message, optional context
/// (object id, path, store location) and, for a failed system call, its typed `errno`.
/// `description` is what the CLI prints; the mount answers the kernel from `code` and `errno`
/// (see ArkFS's `FuseErrno`).
public struct ArkError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidArgument = "invalid-argument"
        case notFound = "not-found"
        case ambiguous = "ambiguous"
        case corrupt = "corrupt"
        case missing = "missing"
        case malformed = "malformed"
        case io = "io"
        case config = "config"
        case busy = "busy"
        case unsupported = "unsupported"
        /// A deadline passed (a peer did not deliver in time).
        case timeout = "timeout"
    }

    public var code: Code
    public var message: String
    public var context: String?
    /// The system call's error, when one caused this (ENOSPC, EACCES, EMFILE, ...).
    public var errno: Errno?

    public init(_ code: Code, _ message: String, context: String? = nil, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.context = context
        self.errno = errno
    }

    public var description: String {
        if let context { return "\(message) (\(context))" }
        return message
    }
}
