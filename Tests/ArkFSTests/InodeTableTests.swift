import Testing

@testable import ArkFS

@Suite struct InodeTableTests {
    let table = InodeTable(root: .virtual(.root))

    @Test func inodesAreDerivedStableAndNeverReserved() {
        let a = table.remember(parent: 1, name: "a", node: .text("x"))
        #expect(a == InodeTable.derive(parent: 1, name: "a", salt: 0))
        #expect(a > 1)
        // The same (parent, name) in another table (another mount) gets the same number.
        let other = InodeTable(root: .virtual(.root))
        #expect(other.remember(parent: 1, name: "a", node: .text("x")) == a)
        #expect(table.remember(parent: a, name: "a", node: .text("y")) != a)
    }

    @Test func peekTakesNoReference() {
        let ino = table.peek(parent: 1, name: "f")
        #expect(table.node(ino) == nil)
        #expect(table.remember(parent: 1, name: "f", node: .text("f")) == ino)
    }

    @Test func forgetDropsAnEntryWhenEveryLookupIsForgotten() {
        let ino = table.remember(parent: 1, name: "f", node: .text("f"))
        _ = table.remember(parent: 1, name: "f", node: .text("f"))
        #expect(!table.forget(ino, 1))
        #expect(table.node(ino) == .text("f"))
        #expect(table.forget(ino, 1), "the last lookup: gone")
        #expect(table.node(ino) == nil)
        #expect(!table.forget(ino, 1))
        #expect(!table.forget(InodeTable.rootIno, 100))
        #expect(table.node(InodeTable.rootIno) == .virtual(.root))
    }

    @Test func aRememberedMutableEntryTakesItsNewNode() {
        let ino = table.remember(parent: 1, name: "head", node: .link(target: "a"))
        #expect(table.remember(parent: 1, name: "head", node: .link(target: "b")) == ino)
        #expect(table.node(ino) == .link(target: "b"))
        #expect(Set(table.mutableSlots().map(\.ino)) == [InodeTable.rootIno, ino])  // the browser root and the link
        #expect(table.parentAndName(of: ino)?.name == "head")
    }

    @Test(arguments: 0..<4)
    func derivationMixesEveryInput(salt: UInt64) {
        let base = InodeTable.derive(parent: 5, name: "n", salt: salt)
        #expect(InodeTable.derive(parent: 6, name: "n", salt: salt) != base)
        #expect(InodeTable.derive(parent: 5, name: "m", salt: salt) != base)
        #expect(InodeTable.derive(parent: 5, name: "n", salt: salt + 1) != base)
    }
}
