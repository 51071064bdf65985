import Glibc

/// The open-file limit of the process hosting the daemon. Distributions start processes with
/// a soft limit of 1,024 descriptors and a much higher hard limit; every peer connection,
/// pending handshake, pack file and mount request takes one, so the daemon raises its soft
/// limit to the hard one before it listens.
enum OpenFileLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns (before, after), or nil if the
    /// limit cannot be read or set.
    @discardableResult
    static func raise() -> (before: UInt64, after: UInt64)? {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &limit) == 0 else { return nil }
        return (before, UInt64(limit.rlim_cur))
    }
}
