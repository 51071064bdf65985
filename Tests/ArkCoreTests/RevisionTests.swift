import Foundation
import Testing

@testable import ArkCore

@Suite struct RevisionTests {
    @Test func prefixRangeForOddAndEvenPrefixes() {
        #expect(Index.prefixRange("ab") == (Data([0xab]), Data([0xac])))
        #expect(Index.prefixRange("abc") == (Data([0xab, 0xc0]), Data([0xab, 0xd0])))
        #expect(Index.prefixRange("abcf") == (Data([0xab, 0xcf]), Data([0xab, 0xd0])))
        #expect(Index.prefixRange("1ff") == (Data([0x1f, 0xf0]), Data([0x20, 0x00])))
        #expect(Index.prefixRange("0fff") == (Data([0x0f, 0xff]), Data([0x10, 0x00])))
        #expect(Index.prefixRange("f").1 == nil)
        #expect(Index.prefixRange("ff").1 == nil)
        #expect(Index.prefixRange("fff").1 == nil)
        #expect(Index.prefixRange(String(repeating: "f", count: 64)).1 == nil)
        #expect(Index.prefixRange("ABC") == Index.prefixRange("abc"))
    }

    /// SQLite compares blobs like memcmp, then by length; the range must select exactly the
    /// ids whose hex starts with the prefix.
    @Test func prefixRangeSelectsExactlyMatchingIDs() {
        func less(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }
        var rng = SeededRandom(seed: 77)
        for _ in 0..<2000 {
            let id = ObjectSamples.id(&rng)
            var other = ObjectSamples.id(&rng)
            if rng.next() % 2 == 0 {  // share a random-length prefix so matches are common
                var b = id.bytes
                let keep = Int(rng.next() % 4)
                for i in keep..<32 { b[i] = other.bytes[i] }
                other = ObjectID(bytes: b)
            }
            let prefix = String(id.hex.prefix(1 + Int(rng.next() % 8)))
            let (lo, hi) = Index.prefixRange(prefix)
            let bytes = other.bytes
            let inRange = !less(bytes, Array(lo)) && (hi.map { less(bytes, Array($0)) } ?? true)
            #expect(inRange == other.hex.hasPrefix(prefix), "\(other.hex) vs \(prefix)")
            #expect(!less(id.bytes, Array(lo)) && (hi.map { less(id.bytes, Array($0)) } ?? true))
        }
    }

    @Test func resolvesIDsPrefixesAndHeads() throws {
        let store = try TestStore()
        let repo = store.repo
        let session = try WriteSession(repo)
        let empty = try session.put(.tree, try Tree(entries: []).encoded())
        let first = try store.commit(tree: empty, session: session, message: "one")
        let second = try store.commit(tree: empty, session: session, message: "two")

        // Two commits outside any head whose ids share their first four hex digits.
        var byPrefix: [String: Commit] = [:]
        var pair: (Commit, Commit)?
        var time: Int64 = 0
        while pair == nil {
            time += 1
            let c = Commit(
                tree: empty, parents: [], author: TestStore.signature(time), committer: TestStore.signature(time),
                message: "", node: repo.identity.endpointID)
            let p = String(ObjectHasher.hash(.commit, c.encoded()).hex.prefix(4))
            if let other = byPrefix[p] { pair = (other, c) } else { byPrefix[p] = c }
        }
        let a = try session.commit(pair!.0, head: nil, expected: nil, cause: "test")
        let b = try session.commit(pair!.1, head: nil, expected: nil, cause: "test")
        let resolver = RevisionResolver(repo: repo)

        #expect(try resolver.resolve(first.hex) == first)
        #expect(try resolver.resolve(first.hex.uppercased()) == first)
        #expect(try resolver.resolve(String(second.hex.prefix(12))) == second)
        #expect(try resolver.resolve(a.hex) == a)
        #expect(try resolver.resolve(b.hex) == b)
        // Shortest unique prefix of `a` against `b` resolves.
        let common = zip(a.hex, b.hex).prefix { $0 == $1 }.count
        #expect(try resolver.resolve(String(a.hex.prefix(max(4, common + 1)))) == a)

        let shared = String(a.hex.prefix(4))
        let ambiguous = #expect(throws: ArkError.self) { try resolver.resolve(shared) }
        #expect(ambiguous?.code == .ambiguous)
        #expect(ambiguous?.message.contains(a.short) == true && ambiguous?.message.contains(b.short) == true, "\(ambiguous?.message ?? "")")

        // Prefixes shorter than 4 are not ids.
        #expect(throws: ArkError.self) { try resolver.resolve(String(first.hex.prefix(3))) }

        #expect(try resolver.resolve("repo") == second)
        #expect(try resolver.resolve("repo@\(repo.identity.endpointID.hex)") == second)
        #expect(try resolver.resolve("repo@self") == second)
        let otherNode = ObjectID(bytes: [UInt8](repeating: 0xee, count: 32))
        let noHead = #expect(throws: ArkError.self) { try resolver.resolve("repo@\(otherNode.hex)") }
        #expect(noHead?.code == .notFound)
        #expect(try RevisionResolver(repo: repo, peers: ["peer-a": repo.identity.endpointID]).resolve("repo@peer-a") == second)

        for rev in ["nosuchrepo", "zzzz", "repo@nobody", "other@\(repo.identity.endpointID.hex)", "", "0000000000"]
        where !a.hex.hasPrefix(rev) && !b.hex.hasPrefix(rev) {
            let e = #expect(throws: ArkError.self, "\(rev)") { try resolver.resolve(rev) }
            #expect(e?.code == .notFound || e?.code == .invalidArgument, "\(rev): \(e?.description ?? "")")
        }
        let unknown = #expect(throws: ArkError.self) { try resolver.resolve("nosuchrepo") }
        #expect(unknown?.message == "unknown revision 'nosuchrepo'")
    }

    @Test func resolvesChangeIDs() throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        let empty = try session.put(.tree, try Tree(entries: []).encoded())
        func make(_ change: String, _ t: Int64) throws -> ObjectID {
            let c = Commit(
                tree: empty, parents: [], author: TestStore.signature(t), committer: TestStore.signature(t),
                message: "", changeID: change, node: store.repo.identity.endpointID)
            return try session.commit(c, head: nil, expected: nil, cause: "test")
        }
        let x = try make("kkkkzzzzkkkk", 1)
        _ = try make("kkkkyyyykkkk", 2)
        let r = RevisionResolver(repo: store.repo)
        #expect(try r.resolve("kkkkzzzzkkkk") == x)
        #expect(try r.resolve("kkkkz") == x)
        #expect(#expect(throws: ArkError.self) { try r.resolve("kkkk") }?.code == .ambiguous)
    }
}
