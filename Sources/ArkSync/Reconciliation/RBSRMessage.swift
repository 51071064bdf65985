import ArkCore

/// One reconciliation message, negentropy-v1 style: `0x01 ‖ Range*` with
/// `Range = Bound upper ‖ mode ‖ payload` and
/// `Bound = varint(Δgeneration + 1, or 0 for ∞) ‖ varint(prefixLen) ‖ prefix`.
/// Modes: `0` Skip, `1` Fingerprint (16 B), `2` IdList (`want_response` byte, varint n, n × 32 B).
/// Ranges are contiguous from the minimum bound; after the last one an implicit Skip runs to ∞.
package struct RBSRMessage: Equatable, Sendable {
    package static let version: UInt8 = 1

    package enum Mode: Equatable, Sendable {
        case skip
        case fingerprint(RBSRFingerprint)
        case idList(wantResponse: Bool, ids: [ObjectID])
    }

    package struct Range: Equatable, Sendable {
        package var upper: RBSRBound
        package var mode: Mode

        package init(upper: RBSRBound, mode: Mode) {
            self.upper = upper
            self.mode = mode
        }
    }

    package var ranges: [Range]

    package init(ranges: [Range]) { self.ranges = ranges }

    /// True when nothing but Skip remains: the sender is done.
    package var isAllSkip: Bool { ranges.allSatisfy { $0.mode == .skip } }

    package func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.version]
        var previous: UInt64 = 0
        for range in ranges { Self.append(range, previousGeneration: &previous, to: &out) }
        return out
    }

    static func append(_ range: Range, previousGeneration: inout UInt64, to out: inout [UInt8]) {
        let bound = range.upper
        if bound.isInfinity {
            out.append(0)
        } else {
            RBSRVarint.append(bound.generation - previousGeneration + 1, to: &out)
            previousGeneration = bound.generation
        }
        RBSRVarint.append(UInt64(bound.prefix.count), to: &out)
        out += bound.prefix
        switch range.mode {
        case .skip:
            out.append(0)
        case .fingerprint(let fp):
            out.append(1)
            out += fp.bytes
        case .idList(let want, let ids):
            out.append(2)
            out.append(want ? 1 : 0)
            RBSRVarint.append(UInt64(ids.count), to: &out)
            for id in ids { id.withBytes { out.append(contentsOf: $0) } }
        }
    }

    /// Strict decoding: known version and modes, strictly increasing bounds, nothing after ∞,
    /// no trailing bytes, counts within `config`'s limits and within the bytes present.
    package init(decoding bytes: [UInt8], config: RBSRConfig = RBSRConfig()) throws {
        guard bytes.count <= config.frameLimit else {
            throw RBSRError.limitExceeded("message of \(bytes.count) bytes exceeds the frame limit \(config.frameLimit)")
        }
        var reader = RBSRReader(bytes)
        let version = try reader.u8("version")
        guard version == Self.version else { throw RBSRError.malformed("unsupported version \(version)") }
        var ranges: [Range] = []
        var previousGeneration: UInt64 = 0
        var previousBound = RBSRBound.minimum
        while !reader.isAtEnd {
            guard ranges.count < config.maxRangesPerMessage else {
                throw RBSRError.limitExceeded("more than \(config.maxRangesPerMessage) ranges in one message")
            }
            if previousBound.isInfinity { throw reader.fail("\(reader.remaining) trailing bytes after the ∞ bound") }
            let encodedGeneration = try reader.varint("bound generation")
            let prefixLength = try reader.varint("bound prefix length")
            guard prefixLength <= 32 else { throw reader.fail("bound prefix of \(prefixLength) bytes (at most 32)") }
            let prefix = Array(try reader.take(Int(prefixLength), "bound prefix"))
            let bound: RBSRBound
            if encodedGeneration == 0 {
                guard prefix.isEmpty else { throw reader.fail("∞ bound with an id prefix") }
                bound = .infinity
            } else {
                let (generation, overflow) = previousGeneration.addingReportingOverflow(encodedGeneration - 1)
                guard !overflow, generation <= RBSRItem.maxGeneration + 1 else {
                    throw reader.fail("bound generation out of range")
                }
                bound = RBSRBound(generation: generation, prefix: prefix)
                previousGeneration = generation
            }
            guard previousBound.isBelow(bound) else {
                throw reader.fail("bound \(bound) is not above the previous bound \(previousBound)")
            }
            let modeByte = try reader.u8("mode")
            let mode: Mode
            switch modeByte {
            case 0:
                mode = .skip
            case 1:
                mode = .fingerprint(RBSRFingerprint(bytes: Array(try reader.take(RBSRFingerprint.byteCount, "fingerprint"))))
            case 2:
                let want = try reader.u8("want_response")
                guard want <= 1 else { throw reader.fail("want_response byte \(want) (must be 0 or 1)") }
                let count = try reader.varint("id count")
                guard count <= UInt64(config.idsPerListLimit) else {
                    throw RBSRError.limitExceeded("IdList of \(count) ids exceeds \(config.idsPerListLimit)")
                }
                let raw = try reader.take(Int(count) * 32, "id list")
                var ids: [ObjectID] = []
                ids.reserveCapacity(Int(count))
                raw.withUnsafeBytes { p in
                    for i in 0..<Int(count) { ids.append(ObjectID(unsafeBytes: UnsafeRawBufferPointer(rebasing: p[i * 32..<i * 32 + 32]))) }
                }
                mode = .idList(wantResponse: want == 1, ids: ids)
            default:
                throw reader.fail("unknown mode \(modeByte)")
            }
            ranges.append(Range(upper: bound, mode: mode))
            previousBound = bound
        }
        self.ranges = ranges
    }
}
