import ArkCore
import Glibc

/// The one place where an error becomes the errno a kernel request is answered with.
///
/// - A failed system call keeps its errno (ENOSPC, EACCES, EMFILE, ...): the reader sees what
///   really went wrong, not "I/O error" for everything.
/// - Not found: ENOENT. A store locked by another process past the busy timeout: EAGAIN.
/// - A peer deadline (a lazily fetched chunk no peer delivered in time): ETIMEDOUT, so
///   `cat` says "Connection timed out" and a script can retry, and it is never mistaken for
///   damage.
/// - Bytes that do not match their id, malformed objects, chunks that should be here and
///   are not, and anything else: EIO.
package enum FuseErrno {
    package static func code(for error: any Error) -> Int32 {
        guard let e = error as? ArkError else { return EIO }
        if let errno = e.errno { return errno.rawValue }
        switch e.code {
        case .notFound: return ENOENT
        case .busy: return EAGAIN
        case .timeout: return ETIMEDOUT
        case .invalidArgument: return EINVAL
        case .unsupported: return EOPNOTSUPP
        case .corrupt, .missing, .malformed, .io, .config, .ambiguous: return EIO
        }
    }
}
