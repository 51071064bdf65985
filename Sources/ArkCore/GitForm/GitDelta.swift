/// A git delta (the content of a pack's `REF_DELTA` object) of one object against an older
/// version of it: copy the common prefix, insert what differs, copy the common suffix. Two
/// versions of a directory's tree differ in an entry or two, two versions of a file often by an
/// inserted or changed run of lines, so this is most of what git's own delta search finds there,
/// in one pass of comparisons.
package enum GitDelta {
    /// The delta that turns `base` into `target`, or nil when it would not be under half of
    /// `target`'s size (then the object is sent whole).
    package static func encode(base: [UInt8], target: [UInt8]) -> [UInt8]? {
        guard !base.isEmpty, target.count >= 32, base.count < Int(UInt32.max) else { return nil }
        let (prefix, suffix) = base.withUnsafeBufferPointer { b in
            target.withUnsafeBufferPointer { t in
                var p = 0
                let n = min(b.count, t.count)
                while p < n && b[p] == t[p] { p += 1 }
                var s = 0
                while s < n - p && b[b.count - 1 - s] == t[t.count - 1 - s] { s += 1 }
                return (p, s)
            }
        }
        let inserted = target.count - prefix - suffix
        // Each instruction costs a few bytes; a delta is worth it only well under the object.
        guard inserted + inserted / 127 + 32 < target.count / 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(inserted + inserted / 127 + 32)
        varint(UInt64(base.count), into: &out)
        varint(UInt64(target.count), into: &out)
        if prefix > 0 { copy(offset: 0, count: prefix, into: &out) }
        var i = prefix
        while i < prefix + inserted {
            let n = min(127, prefix + inserted - i)
            out.append(UInt8(n))
            out.append(contentsOf: target[i..<(i + n)])
            i += n
        }
        if suffix > 0 { copy(offset: base.count - suffix, count: suffix, into: &out) }
        return out
    }

    /// The size varint of a delta's header: 7 bits a byte, least significant first.
    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Copy instructions for `count` bytes of the base from `offset` (at most 0xffffff each).
    static func copy(offset: Int, count: Int, into out: inout [UInt8]) {
        var offset = offset, left = count
        while left > 0 {
            let n = min(left, 0xff_ffff)
            var op: UInt8 = 0x80
            var args: [UInt8] = []
            for k in 0..<4 {
                let byte = UInt8(truncatingIfNeeded: offset >> (8 * k))
                if byte != 0 { op |= 1 << k; args.append(byte) }
            }
            for k in 0..<3 {
                let byte = UInt8(truncatingIfNeeded: n >> (8 * k))
                if byte != 0 { op |= 1 << (4 + k); args.append(byte) }
            }
            out.append(op)
            out += args
            offset += n
            left -= n
        }
    }
}
