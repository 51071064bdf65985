import Glibc
import Testing

@testable import ArkCore
@testable import ArkFS

/// The one error-to-errno mapping of the mount.
@Suite struct FuseErrnoTests {
    @Test(arguments: [
        (ArkError.Code.notFound, ENOENT), (.busy, EAGAIN), (.timeout, ETIMEDOUT), (.corrupt, EIO),
        (.missing, EIO), (.malformed, EIO), (.io, EIO), (.invalidArgument, EINVAL), (.unsupported, EOPNOTSUPP)
    ])
    func codesMapToErrno(code: ArkError.Code, expected: Int32) {
        #expect(FuseErrno.code(for: ArkError(code, "x")) == expected)
    }

    @Test(arguments: [ENOSPC, EACCES, EMFILE, EROFS])
    func aSystemCallsErrnoIsKept(errno: Int32) {
        #expect(FuseErrno.code(for: ArkError(.io, "write failed", errno: Errno(rawValue: errno))) == errno)
    }

    @Test func otherErrorsAreIO() {
        struct Other: Error {}
        #expect(FuseErrno.code(for: Other()) == EIO)
    }
}
