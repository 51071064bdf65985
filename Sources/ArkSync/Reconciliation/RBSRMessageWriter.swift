/// Builds one outgoing message within the frame and range limits: merges adjacent Skips, drops
/// the trailing Skip, and always keeps room to end with a Fingerprint over `[lo, ∞)` when the
/// rest does not fit (negentropy's truncation rule).
struct RBSRMessageWriter {
    /// Worst case of a flushed Skip (44 B) plus the closing Fingerprint range (19 B).
    static let reserve = 64

    let frameLimit: Int
    let maxRanges: Int
    private(set) var bytes: [UInt8] = [RBSRMessage.version]
    private var previousGeneration: UInt64 = 0
    private var rangeCount = 0
    private var pendingSkip: RBSRBound?
    /// True once a non-Skip range was written.
    private(set) var hasContent = false
    private(set) var isTruncated = false

    init(config: RBSRConfig) {
        frameLimit = config.frameLimit
        maxRanges = config.maxRangesPerMessage
    }

    mutating func skip(to upper: RBSRBound) {
        pendingSkip = upper
    }

    private func encode(_ range: RBSRMessage.Range) -> (bytes: [UInt8], ranges: Int, generation: UInt64) {
        var out: [UInt8] = []
        var generation = previousGeneration
        var ranges = 1
        if let pendingSkip {
            RBSRMessage.append(.init(upper: pendingSkip, mode: .skip), previousGeneration: &generation, to: &out)
            ranges += 1
        }
        RBSRMessage.append(range, previousGeneration: &generation, to: &out)
        return (out, ranges, generation)
    }

    /// Appends a non-Skip range if it fits while leaving room to truncate; false if it does not.
    mutating func tryAppend(_ range: RBSRMessage.Range) -> Bool {
        precondition(!isTruncated)
        let encoded = encode(range)
        guard bytes.count + encoded.bytes.count + Self.reserve <= frameLimit,
            rangeCount + encoded.ranges + 2 <= maxRanges
        else { return false }
        commit(encoded)
        return true
    }

    /// How many ids an IdList could carry now, whatever bound (up to 44 bytes) it ends at.
    func idCapacity() -> Int {
        let empty = encode(.init(upper: .infinity, mode: .idList(wantResponse: false, ids: [])))
        guard rangeCount + empty.ranges + 2 <= maxRanges else { return 0 }
        // The ∞ bound takes 2 bytes, a cut bound up to 44; the count varint grows up to 3 bytes.
        let room = frameLimit - Self.reserve - bytes.count - empty.bytes.count - 42 - 2
        return max(room / 32, 0)
    }

    /// Ends the message with a Fingerprint over everything from the current position to ∞.
    mutating func truncate(fingerprintOfRest: RBSRFingerprint) {
        precondition(!isTruncated)
        commit(encode(.init(upper: .infinity, mode: .fingerprint(fingerprintOfRest))))
        isTruncated = true
    }

    private mutating func commit(_ encoded: (bytes: [UInt8], ranges: Int, generation: UInt64)) {
        bytes += encoded.bytes
        rangeCount += encoded.ranges
        previousGeneration = encoded.generation
        pendingSkip = nil
        hasContent = true
    }
}
