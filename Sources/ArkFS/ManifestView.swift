import ArkCore

/// A manifest as far as a reader has it: whole, or just its leading records (a large
/// manifest's first block, checked by its block tag) until a read goes past them.
enum ManifestView: Sendable {
    case whole(Manifest)
    case prefix(ManifestPrefix)

    var level: UInt8 {
        switch self {
        case .whole(let m): m.level;
        case .prefix(let p): p.level
        }
    }

    var totalSize: UInt64 {
        switch self {
        case .whole(let m): m.totalSize;
        case .prefix(let p): p.totalSize
        }
    }

    /// The entry holding `offset`; nil past the end, or past the records a prefix has.
    func index(containing offset: UInt64) -> Int? {
        switch self {
        case .whole(let m): m.index(containing: offset);
        case .prefix(let p): p.index(containing: offset)
        }
    }

    // One switch per accessor, not an `any ManifestRecords`: these run for every chunk a
    // read locates, and boxing a manifest in an existential allocates.
    func id(at i: Int) -> ObjectID {
        switch self {
        case .whole(let m): m.id(at: i);
        case .prefix(let p): p.id(at: i)
        }
    }

    func start(at i: Int) -> UInt64 {
        switch self {
        case .whole(let m): m.start(at: i);
        case .prefix(let p): p.start(at: i)
        }
    }

    func entry(at i: Int) -> Manifest.Entry {
        switch self {
        case .whole(let m): m.entry(at: i);
        case .prefix(let p): p.entry(at: i)
        }
    }

    var isPrefix: Bool { if case .prefix = self { true } else { false } }
}
