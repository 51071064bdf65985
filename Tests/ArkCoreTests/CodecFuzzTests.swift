import Testing

@testable import ArkCore

/// Random mutations of valid encodings: each must be rejected with `.malformed`, or decode to
/// an object whose canonical encoding is exactly the mutated bytes (one encoding per object).
@Suite struct CodecFuzzTests {
    enum Mutation: CaseIterable { case flip, insert, delete, truncate, overwrite }

    static func mutate(_ input: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var b = input
        let rounds = 1 + Int(rng.next() % 3)
        for _ in 0..<rounds {
            let pos = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
            switch Mutation.allCases[Int(rng.next() % 5)] {
            case .flip: if !b.isEmpty { b[pos] ^= UInt8(1) << UInt8(rng.next() % 8) }
            case .insert: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
            case .delete: if !b.isEmpty { b.remove(at: pos) }
            case .truncate: b = Array(b.prefix(pos))
            case .overwrite: if !b.isEmpty { b[pos] = UInt8(truncatingIfNeeded: rng.next()) }
            }
        }
        return b
    }

    /// Decodes with the decoder of `kind`; returns the re-encoding, or nil when rejected.
    static func reencode(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> [UInt8]? {
        do {
            switch kind {
            case .tree: return try Tree(decoding: bytes).encoded()
            case .manifest:
                let m = try Manifest(decoding: bytes)
                return Manifest(level: m.level, entries: m.entries).bytes
            case .commit: return try Commit(decoding: bytes).encoded()
            case .chunk: return bytes
            }
        } catch let e as ArkError {
            guard e.code == .malformed else { throw e }
            return nil
        }
    }

    @Test(arguments: [ObjectKind.tree, .manifest, .commit])
    func mutatedEncodings(kind: ObjectKind) throws {
        let seed: UInt64 = 0xA5C0_DEC0 + UInt64(kind.rawValue)
        var rng = SeededRandom(seed: seed)
        var samples: [[UInt8]] = []
        for i in 0..<12 {
            switch kind {
            case .tree: samples.append(try ObjectSamples.tree(&rng, entries: i).encoded())
            case .manifest: samples.append(ObjectSamples.manifest(&rng, entries: i % 4, level: UInt8(i % 2)).bytes)
            default:
                samples.append(
                    ObjectSamples.commit(&rng, parents: i % 3, change: i % 2 == 0, source: i % 3 == 0, gitRaw: i % 4 == 1).encoded())
            }
        }
        // Small hand-made manifests make accepted mutations likely (lengths and ends still add up).
        if kind == .manifest { samples.append(Manifest(entries: [.init(id: ObjectSamples.id(&rng), length: 1)]).bytes) }
        var accepted = 0, rejected = 0
        for iteration in 0..<3000 {
            let original = samples[iteration % samples.count]
            let mutated = Self.mutate(original, &rng)
            if let again = try Self.reencode(kind, mutated) {
                #expect(again == mutated, "seed \(seed) iteration \(iteration): accepted bytes re-encode differently")
                accepted += 1
            } else {
                rejected += 1
            }
        }
        // Both outcomes must occur, or the mutations are not exercising the decoder.
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
