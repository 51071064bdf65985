import Testing

@testable import ArkCore

/// `ObjectIDSet`: the same answers in memory and after moving to its temporary database.
@Suite struct ObjectIDSetTests {
    static func ids(_ n: Int, seed: UInt64) -> [ObjectID] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in ObjectSamples.id(&rng) }
    }

    @Test(arguments: [1, 7, 100, 1_000_000])
    func answersAlikeBeforeAndAfterSpilling(limit: Int) throws {
        let set = ObjectIDSet(memoryLimit: limit)
        let a = Self.ids(300, seed: 1)
        // Duplicates within one batch and across batches are new once.
        #expect(try set.insertNew(a + a.prefix(10), value: { Int64($0.w0 & 0xffff) }) == a)
        #expect(try set.insertNew(a.prefix(50)).isEmpty)
        #expect(set.count == 300)
        #expect(set.isSpilled == (limit < 300))
        #expect(try set.insert(a[3]) == false)
        let b = Self.ids(40, seed: 2)
        #expect(try set.insert(b[0], value: -5))
        #expect(try set.value(of: b[0]) == -5)
        #expect(try set.value(of: a[17]) == Int64(a[17].w0 & 0xffff), "values survive the move")
        #expect(try set.value(of: b[1]) == nil)
        #expect(try set.contains(a[299]))
        #expect(try !set.contains(b[2]))
        #expect(try set.filterContained([b[1], a[5], b[0], b[3], a[6]]) == [a[5], b[0], a[6]])
        #expect(set.count == 301)
    }

    /// Pages cover every id once with its value, in memory and spilled, however they fall.
    @Test(arguments: [(1, 7), (1_000, 7), (16, 1_000), (1_000, 1_000), (300, 300)])
    func pagesCoverEveryIDOnce(limit: Int, pageSize: Int) throws {
        let set = ObjectIDSet(memoryLimit: limit)
        let a = Self.ids(300, seed: 3)
        try set.insertNew(a, value: { Int64($0.w0 & 0xffff) })
        var seen: [ObjectID: Int64] = [:]
        var pages = 0
        try set.forEachPage(size: pageSize) { page in
            #expect(!page.isEmpty && page.count <= pageSize)
            for (id, v) in page { #expect(seen.updateValue(v, forKey: id) == nil, "each id once") }
            pages += 1
        }
        #expect(seen.count == a.count)
        #expect(a.allSatisfy { seen[$0] == Int64($0.w0 & 0xffff) })
        #expect(pages == (a.count + pageSize - 1) / pageSize)
        var cursor = ObjectIDSet.Cursor()
        var total = 0
        while case let page = try set.nextPage(&cursor, limit: pageSize), !page.isEmpty { total += page.count }
        #expect(total == a.count)
        #expect(try set.nextPage(&cursor, limit: pageSize).isEmpty, "a finished cursor stays finished")
        var empty = ObjectIDSet.Cursor()
        #expect(try ObjectIDSet(memoryLimit: limit).nextPage(&empty, limit: pageSize).isEmpty)
    }
}

/// `Index.forEachObjectPage`: every object of a pack once, in offset order, however the pages
/// fall.
@Suite struct PackPagingTests {
    @Test(arguments: [1, 7, 50, 8192])
    func pagesCoverAPackOnceInOrder(pageSize: Int) throws {
        let store = try TestStore()
        let session = try WriteSession(store.repo)
        var written: [ObjectID] = []
        for i in 0..<50 { written.append(try session.put(.chunk, Array("chunk \(i)".utf8))) }
        try session.checkpoint()
        var seen: [IndexedObject] = []
        for (pack, _) in try store.repo.index.packs() {
            try store.repo.index.forEachObjectPage(inPack: pack, pageSize: pageSize) { page in
                #expect(page.count <= pageSize)
                seen += page
            }
        }
        #expect(Set(seen.map(\.id)) == Set(written))
        #expect(seen.count == written.count)
        let offsets = seen.map { $0.location!.offset }
        #expect(offsets == offsets.sorted())
    }
}
