import ArkCore
import Synchronization

/// Inode numbers derived from (parent inode, name), so they are stable for the life of the
/// mount (and across mounts) without an allocation table that grows forever. The kernel's
/// lookup counts are tracked; `forget` drops entries so memory stays bounded while `find`
/// walks a large tree.
final class InodeTable: Sendable {
    static let rootIno: UInt64 = 1

    private struct Slot {
        var ino: UInt64
        var node: Node
        var parent: UInt64
        var name: FileName
        var lookups: UInt64
    }

    /// Slots live in one array, found through a map from inode to position: a map holding the
    /// slots themselves (~150 bytes each) kept most of its buckets empty at its load factor
    /// (a 1,000,000-entry walk: 2^21 buckets, ~335 MB). Freed positions are reused.
    private struct Storage {
        var positions: [UInt64: Int32] = [:]
        var slots: [Slot] = []
        var free: [Int32] = []

        subscript(ino: UInt64) -> Slot? { positions[ino].map { slots[Int($0)] } }

        mutating func insert(_ slot: Slot) {
            if let i = free.popLast() {
                slots[Int(i)] = slot
                positions[slot.ino] = i
            } else {
                positions[slot.ino] = Int32(slots.count)
                slots.append(slot)
            }
        }

        mutating func remove(_ ino: UInt64) {
            guard let i = positions.removeValue(forKey: ino) else { return }
            slots[Int(i)] = Slot(ino: 0, node: .virtual(.root), parent: 0, name: "", lookups: 0)  // drop the node's and name's storage
            free.append(i)
        }
    }

    private let table = Mutex(Storage())

    init(root: Node) {
        table.withLock { $0.insert(Slot(ino: Self.rootIno, node: root, parent: Self.rootIno, name: "", lookups: 1)) }
    }

    func node(_ ino: UInt64) -> Node? { table.withLock { $0[ino]?.node } }

    var count: Int { table.withLock { $0.positions.count } }

    /// The inode of `name` in `parent`, recorded with one more kernel lookup reference.
    func remember(parent: UInt64, name: FileName, node: Node) -> UInt64 {
        table.withLock { t in
            var salt: UInt64 = 0
            while true {
                let ino = Self.derive(parent: parent, name: name, salt: salt)
                if let i = t.positions[ino] {
                    if t.slots[Int(i)].parent == parent && t.slots[Int(i)].name == name {
                        t.slots[Int(i)].node = node  // a mutable browser entry may now denote something else
                        t.slots[Int(i)].lookups += 1
                        return ino
                    }
                    salt += 1  // a 64-bit hash collision: probe deterministically
                    continue
                }
                t.insert(Slot(ino: ino, node: node, parent: parent, name: name, lookups: 1))
                return ino
            }
        }
    }

    /// The inode a name would get, without taking a reference (for readdir).
    func peek(parent: UInt64, name: FileName) -> UInt64 {
        table.withLock { t in
            var salt: UInt64 = 0
            while true {
                let ino = Self.derive(parent: parent, name: name, salt: salt)
                guard let slot = t[ino], !(slot.parent == parent && slot.name == name) else { return ino }
                salt += 1
            }
        }
    }

    /// Drops `n` lookups of `ino`; true when that was the last and the inode is gone.
    @discardableResult
    func forget(_ ino: UInt64, _ n: UInt64) -> Bool {
        guard ino != Self.rootIno else { return false }
        return table.withLock { t in
            guard let i = t.positions[ino] else { return false }
            if t.slots[Int(i)].lookups <= n {
                t.remove(ino)
                return true
            }
            t.slots[Int(i)].lookups -= n
            return false
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
        table.withLock { t in
            t.positions.compactMap { ino, i in
                let s = t.slots[Int(i)]
                return s.node.isImmutable ? nil : SlotInfo(ino: ino, parent: s.parent, name: s.name, node: s.node)
            }
        }
    }

    /// The name an inode was looked up by (for log lines).
    func name(of ino: UInt64) -> String { table.withLock { $0[ino]?.name.description ?? "inode \(ino)" } }

    /// The directory inode and name an inode was looked up as.
    func parentAndName(of ino: UInt64) -> (parent: UInt64, name: FileName)? {
        table.withLock { $0[ino].map { ($0.parent, $0.name) } }
    }
}
