/// Content-defined chunking: FastCDC (Xia et al., 2016/2020) with a gear rolling hash and
/// normalized chunking. Cut points depend only on nearby content, so inserting bytes in a
/// large file changes only the chunks around the insertion.
package struct ChunkerParameters: Sendable, Equatable, CustomStringConvertible {
    package var min: Int
    package var avg: Int
    package var max: Int

    /// 64 KiB / 256 KiB / 1 MiB: half the new bytes of 128K/512K/2M for scattered small edits,
    /// the same for insertions, metadata under 0.1% of the data, no measurable speed cost.
    /// Measurement: docs/benchmarks-archive.md ("Chunk sizes"). Part of the format in practice:
    /// changing it moves every chunk boundary, so new commits stop deduplicating against old.
    package static let `default` = ChunkerParameters(min: 64 << 10, avg: 256 << 10, max: 1 << 20)

    package init(min: Int, avg: Int, max: Int) {
        precondition(min > 0 && min < avg && avg < max && avg.nonzeroBitCount == 1, "invalid chunker parameters")
        self.min = min; self.avg = avg; self.max = max
    }

    package var description: String { "\(min >> 10)K/\(avg >> 10)K/\(max >> 10)K" }

    var bits: Int { avg.trailingZeroBitCount }
    /// Normalization level 2: a harder mask before `avg`, an easier one after. Masks test the
    /// top bits of the gear hash, which depend on the last 64 bytes.
    var maskSmall: UInt64 { ~UInt64(0) << UInt64(64 - (bits + 2)) }
    var maskLarge: UInt64 { ~UInt64(0) << UInt64(64 - (bits - 2)) }
}

package struct Chunker: Sendable {
    package let parameters: ChunkerParameters
    private let maskS: UInt64
    private let maskL: UInt64

    package init(_ parameters: ChunkerParameters = .default) {
        self.parameters = parameters
        maskS = parameters.maskSmall
        maskL = parameters.maskLarge
    }

    /// Length of the next chunk at the start of `data`. `data` must hold at least
    /// `parameters.max` bytes unless it is the end of the input.
    package func cut(_ data: UnsafeRawBufferPointer) -> Int {
        let n = data.count
        if n <= parameters.min { return n }
        let limit = Swift.min(n, parameters.max)
        let normal = Swift.min(limit, parameters.avg)
        return Gear.table.withUnsafeBufferPointer { gear -> Int in
            let bytes = data.bindMemory(to: UInt8.self)
            var fp: UInt64 = 0
            var i = parameters.min
            while i < normal {
                fp = (fp << 1) &+ gear[Int(bytes[i])]
                if fp & maskS == 0 { return i + 1 }
                i += 1
            }
            while i < limit {
                fp = (fp << 1) &+ gear[Int(bytes[i])]
                if fp & maskL == 0 { return i + 1 }
                i += 1
            }
            return limit
        }
    }

    /// All chunk lengths of an in-memory buffer (tests and small inputs).
    package func lengths(of data: [UInt8]) -> [Int] {
        data.withUnsafeBytes { all in
            var out: [Int] = []
            var pos = 0
            while pos < all.count {
                let n = cut(UnsafeRawBufferPointer(rebasing: all[pos...]))
                out.append(n); pos += n
            }
            return out
        }
    }
}

/// The gear table: 256 pseudo-random words from splitmix64 with a fixed seed. Part of the
/// format: changing it changes every chunk boundary.
enum Gear {
    static let table: [UInt64] = {
        var state: UInt64 = 0x61726B2D67656172  // "ark-gear"
        return (0..<256).map { _ in
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }()
}
