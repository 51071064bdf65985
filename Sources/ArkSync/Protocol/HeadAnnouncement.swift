import ArkCore

/// A writer's signed statement "head `name` of `repo` is now `head`", gossiped between the
/// members of the repo. The signature covers the domain tag and every field, so it cannot be
/// replayed for another repo, head or protocol; `seq` orders one writer's statements per head.
package struct HeadAnnouncement: Hashable, Sendable {
    package static let domainTag = "ark/announce/v1"
    static let signatureLength = 64
    static let maxRepoBytes = 255
    static let maxNameBytes = 255

    package var repo: String
    package var writer: ObjectID
    package var name: String
    package var seq: UInt64
    package var generation: UInt64
    package var head: ObjectID
    package var previous: ObjectID?
    /// Milliseconds since the epoch at signing (informational; bounds caches only).
    package var time: UInt64
    package var signature: [UInt8]

    /// The bytes the signature covers: tag ‖ repo ‖ writer ‖ name ‖ seq ‖ generation ‖ head ‖ previous? ‖ time.
    var signedBytes: [UInt8] {
        var w = WireWriter()
        w.string(Self.domainTag)
        w.string(repo)
        w.id(writer)
        w.string(name)
        w.u64(seq)
        w.u64(generation)
        w.id(head)
        if let previous { w.u8(1); w.id(previous) } else { w.u8(0) }
        w.u64(time)
        return w.bytes
    }

    /// Signs a new announcement with `identity` (whose endpoint id becomes the writer).
    package static func signed(
        by identity: NodeIdentity, repo: String, name: String, seq: UInt64, generation: UInt64,
        head: ObjectID, previous: ObjectID?, time: UInt64
    ) -> HeadAnnouncement {
        var a = HeadAnnouncement(
            repo: repo, writer: identity.endpointID, name: name, seq: seq, generation: generation,
            head: head, previous: previous, time: time, signature: [])
        a.signature = identity.sign(a.signedBytes)
        return a
    }

    package var isSignatureValid: Bool {
        NodeIdentity.verify(signature: signature, message: signedBytes, signer: writer)
    }

    /// Wire form: the signed bytes (starting with the domain tag) followed by the signature.
    package var encoded: [UInt8] { signedBytes + signature }

    /// BLAKE2b-256 of the encoding: the key for duplicate suppression.
    package var hash: [UInt8] { Sodium.blake2b(encoded, outputLength: 32) }

    package init(
        repo: String, writer: ObjectID, name: String, seq: UInt64, generation: UInt64, head: ObjectID,
        previous: ObjectID?, time: UInt64, signature: [UInt8]
    ) {
        self.repo = repo; self.writer = writer; self.name = name; self.seq = seq; self.generation = generation
        self.head = head; self.previous = previous; self.time = time; self.signature = signature
    }

    /// Decodes strictly (no trailing bytes). Does not check the signature.
    package init(decoding bytes: [UInt8]) throws {
        var r = WireReader(bytes, what: "head announcement")
        try self.init(reading: &r)
        try r.finish()
    }

    init(reading r: inout WireReader) throws {
        let tag = try r.string("domain tag", max: 64)
        guard tag == Self.domainTag else { throw r.fail("domain tag \"\(tag)\" is not \(Self.domainTag)") }
        repo = try r.string("repo", max: Self.maxRepoBytes)
        guard !repo.isEmpty else { throw r.fail("empty repo id") }
        writer = try r.id("writer")
        name = try r.string("head name", max: Self.maxNameBytes)
        seq = try r.u64("seq")
        generation = try r.u64("generation")
        head = try r.id("head")
        previous = try r.bool("previous flag") ? try r.id("previous") : nil
        time = try r.u64("time")
        signature = Array(try r.take(Self.signatureLength, "signature"))
    }
}
