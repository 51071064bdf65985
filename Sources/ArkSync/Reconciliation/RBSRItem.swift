import ArkCore
import CSodium

/// An element of the reconciled set: a commit keyed by (generation, id), ordered by generation
/// then id (Meyer's (depth, hash) order, so history sorts oldest first).
package struct RBSRItem: Hashable, Comparable, Sendable {
    /// Generations above this are refused, so every bound's delta encoding fits a varint.
    package static let maxGeneration: UInt64 = 1 << 62

    package let generation: UInt64
    package let id: ObjectID

    package init(generation: UInt64, id: ObjectID) {
        self.generation = generation
        self.id = id
    }

    package static func < (a: RBSRItem, b: RBSRItem) -> Bool {
        (a.generation, a.id) < (b.generation, b.id)
    }

    /// This item's ristretto255 point: `from_hash(BLAKE2b-512("ark/rbsr/v1" ‖ BE64(generation) ‖ id))`.
    /// The generation is hashed too, so a fingerprint covers exactly the keys the bounds order
    /// (two peers disagreeing about an id's generation see a difference instead of a match).
    package var point: RistrettoPoint {
        precondition(Sodium.ready, "libsodium failed to initialize")
        var input = RBSRItem.domainTag
        withUnsafeBytes(of: generation.bigEndian) { input.append(contentsOf: $0) }
        id.withBytes { input.append(contentsOf: $0) }
        let digest = Sodium.blake2b(input, outputLength: 64)
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ristretto255_from_hash(&out, digest)
        return RistrettoPoint(bytes: out)
    }

    static let domainTag: [UInt8] = Array("ark/rbsr/v1".utf8)
}

/// A ristretto255 group element in its canonical 32-byte encoding; the sum of the points of a set
/// is its homomorphic hash (ECMH). All-zero bytes encode the identity (the empty set).
package struct RistrettoPoint: Hashable, Sendable {
    package let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        precondition(bytes.count == 32)
        self.bytes = bytes
    }

    package static let identity = RistrettoPoint(bytes: [UInt8](repeating: 0, count: 32))

    package static func + (a: RistrettoPoint, b: RistrettoPoint) -> RistrettoPoint {
        var out = [UInt8](repeating: 0, count: 32)
        // Both operands are canonical encodings we produced, so this cannot fail.
        let rc = crypto_core_ristretto255_add(&out, a.bytes, b.bytes)
        precondition(rc == 0, "ristretto255 add of an invalid point")
        return RistrettoPoint(bytes: out)
    }

    package static func - (a: RistrettoPoint, b: RistrettoPoint) -> RistrettoPoint {
        var out = [UInt8](repeating: 0, count: 32)
        let rc = crypto_core_ristretto255_sub(&out, a.bytes, b.bytes)
        precondition(rc == 0, "ristretto255 sub of an invalid point")
        return RistrettoPoint(bytes: out)
    }
}

/// A range fingerprint: `BLAKE2b-128(encode(ΣP) ‖ varint(count))`.
package struct RBSRFingerprint: Hashable, Sendable, CustomStringConvertible {
    package static let byteCount = 16
    package let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount)
        self.bytes = bytes
    }

    package init(sum: RistrettoPoint, count: Int) {
        var input = sum.bytes
        RBSRVarint.append(UInt64(count), to: &input)
        bytes = Sodium.blake2b(input, outputLength: Self.byteCount)
    }

    package var description: String { HexCodec.encode(bytes) }
}

/// A range boundary: (generation, id prefix), meaning the key (generation, prefix padded with
/// zero bytes); or infinity, above every item. Ranges are `[lower, upper)`.
package struct RBSRBound: Hashable, Sendable, CustomStringConvertible {
    package let generation: UInt64
    package let prefix: [UInt8]
    package let isInfinity: Bool
    /// The prefix padded with zeros, for comparisons.
    let paddedID: ObjectID

    package init(generation: UInt64, prefix: [UInt8] = []) {
        precondition(prefix.count <= 32)
        self.generation = generation
        self.prefix = prefix
        self.isInfinity = false
        paddedID = ObjectID(bytes: prefix + [UInt8](repeating: 0, count: 32 - prefix.count))
    }

    private init(infinity: ()) {
        generation = UInt64.max
        prefix = []
        isInfinity = true
        paddedID = ObjectID(bytes: [UInt8](repeating: 0xff, count: 32))
    }

    package static let minimum = RBSRBound(generation: 0)
    package static let infinity = RBSRBound(infinity: ())

    /// True when `item` sorts below this bound.
    package func isAbove(_ item: RBSRItem) -> Bool {
        isInfinity || (item.generation, item.id) < (generation, paddedID)
    }

    /// Strict order of positions (prefixes differing only by trailing zeros are the same position).
    package func isBelow(_ other: RBSRBound) -> Bool {
        if isInfinity { return false }
        if other.isInfinity { return true }
        return (generation, paddedID) < (other.generation, other.paddedID)
    }

    /// The shortest bound `x` with `a < x <= b` (requires `a < b`).
    package static func separating(_ a: RBSRItem, _ b: RBSRItem) -> RBSRBound {
        precondition(a < b)
        if a.generation != b.generation { return RBSRBound(generation: b.generation) }
        let ab = a.id.bytes, bb = b.id.bytes
        var shared = 0
        while ab[shared] == bb[shared] { shared += 1 }
        return RBSRBound(generation: b.generation, prefix: Array(bb[...shared]))
    }

    package var description: String {
        isInfinity ? "∞" : "(\(generation), \(HexCodec.encode(prefix)))"
    }
}

/// Items `lower <= item < upper`.
package struct RBSRRange: Hashable, Sendable {
    package let lower: RBSRBound
    package let upper: RBSRBound

    package init(lower: RBSRBound, upper: RBSRBound) {
        self.lower = lower
        self.upper = upper
    }

    package static let all = RBSRRange(lower: .minimum, upper: .infinity)
}
