import ArkCore
import Synchronization

/// Inode numbers derived from (parent inode, name), so they are stable for the life of the
/// mount (and across mounts) without an allocation table that grows forever. The kernel's
/// lookup counts are tracked; `forget` drops entries so memory stays bounded while `find`
/// walks a large tree.
final class InodeTable: Sendable {
    static let rootIno: UInt64 = 1

    private struct Slot {
        var node: Node
        var parent: UInt64
        var name: FileName
        var lookups: UInt64
    }

    private let slots = Mutex<[UInt64: Slot]>([:])

    init(root: Node) {
        slots.withLock { $0[Self.rootIno] = Slot(node: root, parent: Self.rootIno, name: "", lookups: 1) }
    }

    func node(_ ino: UInt64) -> Node? { slots.withLock { $0[ino]?.node } }

    var count: Int { slots.withLock { $0.count } }

    /// The inode of `name` in `parent`, recorded with one more kernel lookup reference.
    func remember(parent: UInt64, name: FileName, node: Node) -> UInt64 {
        slots.withLock { table in
            var salt: UInt64 = 0
            while true {
                let ino = Self.derive(parent: parent, name: name, salt: salt)
                if var slot = table[ino] {
                    if slot.parent == parent && slot.name == name {
                        slot.node = node  // a mutable browser entry may now denote something else
                        slot.lookups += 1
                        table[ino] = slot
                        return ino
                    }
                    salt += 1  // a 64-bit hash collision: probe deterministically
                    continue
                }
                table[ino] = Slot(node: node, parent: parent, name: name, lookups: 1)
                return ino
            }
        }
    }

    /// The inode a name would get, without taking a reference (for readdir).
    func peek(parent: UInt64, name: FileName) -> UInt64 {
        slots.withLock { table in
            var salt: UInt64 = 0
            while true {
                let ino = Self.derive(parent: parent, name: name, salt: salt)
                guard let slot = table[ino], !(slot.parent == parent && slot.name == name) else { return ino }
                salt += 1
            }
        }
    }

    func forget(_ ino: UInt64, _ n: UInt64) {
        guard ino != Self.rootIno else { return }
        slots.withLock { table in
            guard var slot = table[ino] else { return }
            if slot.lookups <= n { table.removeValue(forKey: ino) } else { slot.lookups -= n; table[ino] = slot }
        }
    }

    /// FNV-1a over the parent inode, the name and a probe salt; never 0 or 1.
    static func derive(parent: UInt64, name: FileName, salt: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        withUnsafeBytes(of: parent.littleEndian) { for b in $0 { mix(b) } }
        for b in name.bytes { mix(b) }
        withUnsafeBytes(of: salt.littleEndian) { for b in $0 { mix(b) } }
        h ^= h >> 33
        h = h &* 0xff51afd7ed558ccd
        h ^= h >> 33
        return h < 2 ? h + 2 : h
    }
}

extension InodeTable {
    struct SlotInfo { var ino: UInt64; var parent: UInt64; var name: FileName; var node: Node }

    /// Known inodes whose content can change (browser directories and head/log links).
    func mutableSlots() -> [SlotInfo] {
        slots.withLock { table in
            table.compactMap { ino, s in s.node.isImmutable ? nil : SlotInfo(ino: ino, parent: s.parent, name: s.name, node: s.node) }
        }
    }

    /// The name an inode was looked up by (for log lines).
    func name(of ino: UInt64) -> String { slots.withLock { $0[ino]?.name.description ?? "inode \(ino)" } }

    /// The directory inode and name an inode was looked up as.
    func parentAndName(of ino: UInt64) -> (parent: UInt64, name: FileName)? {
        slots.withLock { $0[ino].map { ($0.parent, $0.name) } }
    }
}
