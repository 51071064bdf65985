import ArkCore
import ArkSync
import Foundation
import Synchronization

/// Answers no request: each one waits until the attack ends, so the victim's requests run into
/// their deadline. Counts them.
final class StallingHandler: PeerHandler {
    let requests = Atomic<Int>(0)

    func connectionOpened(_ connection: any PeerConnection) async {}
    func connectionClosed(_ connection: any PeerConnection) async {}
    func handleRequest(_ body: [UInt8], from connection: any PeerConnection) async throws -> [UInt8] {
        requests.add(1, ordering: .relaxed)
        try await Task.sleep(for: .seconds(3600))
        throw SyncError.remote("no")
    }
    func handleNotification(_ body: [UInt8], from connection: any PeerConnection) async {}
}

extension HostileAttack {
    /// As a member (`--key-store`, listed in the victim's remotes), sends `--count` validly
    /// signed announcements of commits that do not exist, spread over `--names` head names of
    /// `--repo` with rising sequence numbers, then holds the connection for `--seconds` without
    /// answering any request. Prints "sent N announcements" on stderr once they are out.
    static func bogusAnnounce(_ options: HostileOptions) async throws -> [String: any Sendable] {
        let count = try options.int("count", default: 50)
        let names = max(1, try options.int("names", default: 1))
        let repo = options.string("repo", default: "proj")
        let seconds = try options.double("seconds", default: 10)
        let identity = try options.identity()
        let handler = StallingHandler()
        let (transport, connection) = try await connectAsMember(options, handler: handler)
        let firstSeq = UInt64(Date().timeIntervalSince1970 * 1000)
        let start = Date()
        for i in 0..<count {
            let head = ObjectID(bytes: (0..<ObjectID.byteCount).map { _ in UInt8.random(in: 0...255) })
            let a = HeadAnnouncement.signed(
                by: identity, repo: repo, name: "bogus-\(i % names)", seq: firstSeq + UInt64(i),
                generation: 1, head: head, previous: nil, time: UInt64(Date().timeIntervalSince1970 * 1000))
            try await connection.notify(SyncNotification.announce(a).encoded)
        }
        let sendSeconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data("sent \(count) announcements\n".utf8))
        try? await Task.sleep(for: .seconds(seconds))
        connection.close()
        await transport.shutdown()
        return [
            "attack": "bogus-announce", "sent": count, "names": names, "repo": repo, "writer": identity.endpointID.hex,
            "first_seq": firstSeq, "last_seq": firstSeq + UInt64(max(count - 1, 0)), "send_seconds": sendSeconds,
            "requests_stalled": handler.requests.load(ordering: .relaxed), "held_seconds": seconds
        ]
    }
}
