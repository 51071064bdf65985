import Foundation
import Glibc

extension HostileAttack {
    /// Opens `--count` TCP connections to the target and sends nothing (Slowloris), holding
    /// each open for `--seconds` or until the daemon closes it; reconnects a closed one at
    /// most `--reconnects` times in all. No key needed: this is anyone who can reach the port.
    static func idleConnections(_ options: HostileOptions) async throws -> [String: any Sendable] {
        let (host, port) = try options.target()
        let count = try options.int("count", default: 2000)
        let seconds = try options.double("seconds", default: 10)
        var reconnectsLeft = try options.int("reconnects", default: 0)
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)

        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            throw HostileOptions.Invalid(description: "--target host must be an IPv4 address, got '\(host)'")
        }
        let connectStart = Date()
        var fds: [Int32] = []
        var refused = 0
        /// One idle TCP connection, or nil when the socket or the connect fails.
        func dial() -> Int32? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            let ok = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if ok == 0 { return fd }
            close(fd)
            return nil
        }
        for _ in 0..<count {
            if let fd = dial() { fds.append(fd) } else { refused += 1 }
        }
        let opened = fds.count
        let connectSeconds = Date().timeIntervalSince(connectStart)
        let deadline = Date().addingTimeInterval(seconds)
        var closedByPeer = 0, reconnected = 0
        // Watch for the daemon closing them (read returns 0) until the time is up.
        var open = Set(fds)
        while Date() < deadline, !open.isEmpty {
            var polls = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let n = poll(&polls, nfds_t(polls.count), 200)
            if n > 0 {
                for p in polls where p.revents != 0 {
                    var byte: UInt8 = 0
                    if recv(p.fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0 {
                        open.remove(p.fd); close(p.fd); closedByPeer += 1
                        if reconnectsLeft > 0, let fd = dial() { open.insert(fd); reconnectsLeft -= 1; reconnected += 1 }
                    }
                }
            }
        }
        for fd in open { close(fd) }
        return [
            "attack": "idle-connections", "requested": count, "opened": opened, "refused": refused,
            "closed_by_daemon": closedByPeer, "reconnected": reconnected, "held_to_end": open.count, "seconds": seconds,
            "connect_seconds": (connectSeconds * 100).rounded() / 100
        ]
    }
}
