/// The local, sorted set of items a reconciliation session works on. Implementations must
/// present a stable snapshot for the whole session (a SQLite-backed one reads inside one read
/// transaction), since inserts mid-session would make fingerprints and offsets disagree.
/// Offsets are positions within the range, in (generation, id) order.
package protocol RBSRItemStore {
    /// Total number of items.
    func count() throws -> Int
    func count(in range: RBSRRange) throws -> Int
    func fingerprint(of range: RBSRRange) throws -> RBSRFingerprint
    /// Up to `limit` items of `range`, starting at position `offset` within it.
    func items(in range: RBSRRange, offset: Int, limit: Int) throws -> [RBSRItem]
    /// The highest item, if any.
    func last() throws -> RBSRItem?
}

/// An in-memory item set: a sorted array plus prefix sums of ristretto points, so counts,
/// items and fingerprints of any range cost two binary searches and one point subtraction.
package struct InMemoryRBSRItemStore: RBSRItemStore, Sendable {
    package let sortedItems: [RBSRItem]
    /// `prefixSums[i]` is the sum of the points of the first `i` items.
    private let prefixSums: [RistrettoPoint]

    /// Sorts and deduplicates `items`. Generations above `RBSRItem.maxGeneration` are refused.
    package init(_ items: some Sequence<RBSRItem>) throws {
        try self.init(pointed: items.map { ($0, $0.point) })
    }

    /// As `init(_:)` with points already computed (`item.point`), for callers that cache them.
    package init(pointed: [(RBSRItem, RistrettoPoint)]) throws {
        let pairs = pointed.sorted { $0.0 < $1.0 }
        var unique: [(RBSRItem, RistrettoPoint)] = []
        unique.reserveCapacity(pairs.count)
        for pair in pairs where unique.last?.0 != pair.0 {
            guard pair.0.generation <= RBSRItem.maxGeneration else {
                throw RBSRError.invalidItem("generation \(pair.0.generation) above \(RBSRItem.maxGeneration)")
            }
            unique.append(pair)
        }
        var sums: [RistrettoPoint] = [.identity]
        sums.reserveCapacity(unique.count + 1)
        for (_, point) in unique { sums.append(sums[sums.count - 1] + point) }
        sortedItems = unique.map(\.0)
        prefixSums = sums
    }

    /// Position of the first item not below `bound`.
    func position(of bound: RBSRBound) -> Int {
        if bound.isInfinity { return sortedItems.count }
        var lo = 0, hi = sortedItems.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bound.isAbove(sortedItems[mid]) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func positions(_ range: RBSRRange) -> Range<Int> {
        let lo = position(of: range.lower)
        return lo..<max(lo, position(of: range.upper))
    }

    package func count() -> Int { sortedItems.count }

    package func count(in range: RBSRRange) -> Int { positions(range).count }

    package func fingerprint(of range: RBSRRange) -> RBSRFingerprint {
        let p = positions(range)
        return RBSRFingerprint(sum: prefixSums[p.upperBound] - prefixSums[p.lowerBound], count: p.count)
    }

    package func items(in range: RBSRRange, offset: Int, limit: Int) -> [RBSRItem] {
        let p = positions(range)
        let start = min(p.lowerBound + max(offset, 0), p.upperBound)
        let end = min(start + max(limit, 0), p.upperBound)
        return Array(sortedItems[start..<end])
    }

    package func last() -> RBSRItem? { sortedItems.last }
}
