import ArkCore
import Testing

@testable import ArkSync

@Suite("Sync message codec")
struct SyncMessageTests {
    static let id = ObjectID(bytes: (0..<32).map { UInt8($0) })

    static func announcement() throws -> HeadAnnouncement {
        let node = try SyncNode()
        return HeadAnnouncement.signed(
            by: node.repo.identity, repo: "r", name: "main", seq: 7, generation: 3, head: id, previous: id, time: 99)
    }

    @Test func roundTrips() throws {
        let a = try Self.announcement()
        #expect(a.isSignatureValid)
        #expect(try HeadAnnouncement(decoding: a.encoded) == a)
        #expect(try SyncNotification(decoding: SyncNotification.announce(a).encoded) == .announce(a))
        for r in [SyncRequest.reconcile(repo: "r", start: true, message: [1, 2]), .getObjects([Self.id, Self.id]), .getHeads(repo: "x")] {
            #expect(try SyncRequest(decoding: r.encoded) == r)
        }
        for r in [SyncResponse.reconcile(nil), .reconcile([1]), .objects([WireObject(id: Self.id, kind: .tree, bytes: [9])]), .heads([a])] {
            #expect(try SyncResponse(decoding: r.encoded) == r)
        }
    }

    @Test func signatureCoversEveryField() throws {
        let a = try Self.announcement()
        var changed = [a, a, a, a]
        changed[0].seq += 1
        changed[1].head = ObjectID(bytes: [UInt8](repeating: 1, count: 32))
        changed[2].repo = "s"
        changed[3].previous = nil
        for c in changed { #expect(!c.isSignatureValid) }
    }

    @Test(
        arguments: [
            ("trailing byte", SyncRequest.getHeads(repo: "r").encoded + [0]),
            ("bad version", [2, 0x12, 1, 0x72]),
            ("unknown type", [1, 0x7f]),
            ("response type as request", [1, 0x21, 0]),
            ("too many ids", [1, 0x11, 0x81, 0x08]),
            ("truncated id", [1, 0x11, 1, 0, 0]),
            ("non-minimal varint", [1, 0x12, 0x81, 0x00, 0x72]),
            ("bad start flag", [1, 0x10, 1, 0x72, 2, 0]),
            ("empty", [])
        ] as [(String, [UInt8])])
    func malformedRequestsAreRejected(_ name: String, _ bytes: [UInt8]) {
        #expect(throws: SyncError.self, "\(name)") { try SyncRequest(decoding: bytes) }
    }

    @Test func malformedResponsesAndAnnouncementsAreRejected() throws {
        let a = try Self.announcement()
        #expect(throws: SyncError.self) { try HeadAnnouncement(decoding: a.encoded + [0]) }
        #expect(throws: SyncError.self) { try HeadAnnouncement(decoding: Array(a.encoded.dropLast())) }
        var wrongTag = a.encoded
        wrongTag[1] ^= 0x20
        #expect(throws: SyncError.self) { try HeadAnnouncement(decoding: wrongTag) }
        // Unknown object kind, and an object length above the limit.
        #expect(throws: SyncError.self) { try SyncResponse(decoding: [1, 0x21, 1] + Self.id.bytes + [9, 0]) }
        #expect(throws: SyncError.self) { try SyncResponse(decoding: [1, 0x21, 1] + Self.id.bytes + [1, 0xff, 0xff, 0xff, 0x7f]) }
        #expect(throws: SyncError.self) { try SyncResponse(decoding: [1, 0x22, 0xff, 0xff, 0x03]) }
    }
}
