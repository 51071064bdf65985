import ArkCore
import CSodium

/// An element of the reconciled set: a commit keyed by (generation, id), ordered by generation
/// then id (Meyer's (depth, hash) order, so history sorts oldest first).
public struct RBSRItem: Hashable, Comparable, Sendable {
    /// Generations above this are refused, so every bound's delta encoding fits a varint.
    public static let maxGeneration: UInt64 = 1 << 62

    public let generation: UInt64
    public let id: ObjectID

    public init(generation: UInt64, id: ObjectID) {
        self.generation = generation
        self.id = id
    }

    public static func < (a: RBSRItem, b: RBSRItem) -> Bool {
        (a.generation, a.id) < (b.generation, b.id)
    }

    /// This item's ristretto255 point: `from_hash(BLAKE2b-512("ark/rbsr/v1" ‖ BE64(generation) ‖ id))`.
    /// The generation is hashed too, so a fingerprint covers exactly the keys the bounds order
    /// (two peers disagreeing about an id's generation see a difference instead of a match).
    public var point: RistrettoPoint {
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
public struct RistrettoPoint: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32)
        self.bytes = bytes
    }

    public static let identity = RistrettoPoint(bytes: [UInt8](repeating: 0, count: 32))

    public static func + (a: RistrettoPoint, b: RistrettoPoint) -> RistrettoPoint {
        var out = [UInt8](repeating: 0, count: 32)
        // Both operands are canonical encodings we produced, so this cannot fail.
        let rc = crypto_core_ristretto255_add(&out, a.bytes, b.bytes)
        precondition(rc == 0, "ristretto255 add of an invalid point")
        return RistrettoPoint(bytes: out)
    }

    public static func - (a: RistrettoPoint, b: RistrettoPoint) -> RistrettoPoint {
        var out = [UInt8](repeating: 0, count: 32)
        let rc = crypto_core_ristretto255_sub(&out, a.bytes, b.bytes)
        precondition(rc == 0, "ristretto255 sub of an invalid point")
        return RistrettoPoint(bytes: out)
    }
}

/// A range fingerprint: `BLAKE2b-128(encode(ΣP) ‖ varint(count))`.
public struct RBSRFingerprint: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 16
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount)
        self.bytes = bytes
    }

    public init(sum: RistrettoPoint, count: Int) {
        var input = sum.bytes
        RBSRVarint.append(UInt64(count), to: &input)
        bytes = Sodium.blake2b(input, outputLength: Self.byteCount)
    }

    public var description: String { HexCodec.encode(bytes) }
}

/// A range boundary: (generation, id prefix), meaning the key (generation, prefix padded with
/// zero bytes); or infinity, above every item. Ranges are `[lower, upper)`.
public struct RBSRBound: Hashable, Sendable, CustomStringConvertible {
    public let generation: UInt64
    public let prefix: [UInt8]
    public let isInfinity: Bool
    /// The prefix padded with zeros, for comparisons.
    let paddedID: ObjectID

    public init(generation: UInt64, prefix: [UInt8] = []) {
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

    public static let minimum = RBSRBound(generation: 0)
    public static let infinity = RBSRBound(infinity: ())

    /// True when `item` sorts below this bound.
    public func isAbove(_ item: RBSRItem) -> Bool {
        isInfinity || (item.generation, item.id) < (generation, paddedID)
    }

    /// Strict order of positions (prefixes differing only by trailing zeros are the same position).
    public func isBelow(_ other: RBSRBound) -> Bool {
        if isInfinity { return false }
        if other.isInfinity { return true }
        return (generation, paddedID) < (other.generation, other.paddedID)
    }

    /// The shortest bound `x` with `a < x <= b` (requires `a < b`).
    public static func separating(_ a: RBSRItem, _ b: RBSRItem) -> RBSRBound {
        precondition(a < b)
        if a.generation != b.generation { return RBSRBound(generation: b.generation) }
        let ab = a.id.bytes, bb = b.id.bytes
        var shared = 0
        while ab[shared] == bb[shared] { shared += 1 }
        return RBSRBound(generation: b.generation, prefix: Array(bb[...shared]))
    }

    public var description: String {
        isInfinity ? "∞" : "(\(generation), \(HexCodec.encode(prefix)))"
    }
}

/// Items `lower <= item < upper`.
public struct RBSRRange: Hashable, Sendable {
    public let lower: RBSRBound
    public let upper: RBSRBound

    public init(lower: RBSRBound, upper: RBSRBound) {
        self.lower = lower
        self.upper = upper
    }

    public static let all = RBSRRange(lower: .minimum, upper: .infinity)
}
