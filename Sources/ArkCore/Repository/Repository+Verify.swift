/// What `verify` found.
package struct VerifyReport: Sendable {
    package enum Problem: Sendable, Equatable {
        /// Bytes that do not hash to their id, do not decode, or cannot be read.
        case corrupt(ObjectID, String)
        /// Referenced but neither stored nor known to the index; or metadata that is absent.
        case missing(ObjectID, String)
    }
    package var commits = 0
    package var trees = 0
    package var manifests = 0
    package var chunks = 0
    package var bytes: UInt64 = 0
    /// Chunks known but deliberately not stored here (fetched on demand from peers).
    package var absentChunks = 0
    /// Records whose local copy (of a pack the bucket holds) did not verify: read from the
    /// bucket instead, the damaged local file removed. Not a problem of the store, but a
    /// sign of a failing local disk.
    package var localCopiesReplaced = 0
    package var problems: [Problem] = []

    package var corruptCount: Int { problems.filter { if case .corrupt = $0 { true } else { false } }.count }
    package var missingCount: Int { problems.count - corruptCount }
    package var ok: Bool { problems.isEmpty }
}

extension Repository {
    /// Walks from the given commits (parents included) and checks every object decodes and
    /// every present chunk hashes to its id. With `allObjects`, also reads every object the
    /// index claims is present, reachable or not.
    package func verify(roots: [ObjectID], allObjects: Bool, progress: (VerifyReport) -> Void = { _ in }) throws -> VerifyReport {
        var report = VerifyReport()
        let replacedBefore = localCopiesReplaced.load(ordering: .relaxed)
        // Every id walked (bounded memory: it spills to a temporary file); for a manifest, its
        // shape (level and total size), or -1 if it could not be read or decoded.
        let seen = ObjectIDSet()
        var commitQueue = roots

        func check(_ id: ObjectID, _ kind: ObjectKind, referrer: String) -> [UInt8]? {
            let found: IndexedObject?
            do { found = try index.object(id) } catch { report.problems.append(.corrupt(id, "index lookup failed: \(error)")); return nil }
            guard let obj = found else {
                report.problems.append(.missing(id, "\(kind) referenced by \(referrer) is not in the index")); return nil
            }
            guard let loc = obj.location else {
                if kind == .chunk {
                    report.absentChunks += 1
                } else {
                    report.problems.append(.missing(id, "\(kind) is not stored locally"))
                }
                return nil
            }
            do {
                let bytes = try read(id, kind: obj.kind, at: loc)
                guard obj.kind == kind else {
                    report.problems.append(.corrupt(id, "is a \(obj.kind), \(referrer) expects a \(kind)")); return nil
                }
                report.bytes += UInt64(bytes.count)
                return bytes
            } catch let e as ArkError {
                report.problems.append(e.code == .missing ? .missing(id, e.description) : .corrupt(id, e.description))
            } catch {
                report.problems.append(.corrupt(id, "\(error)"))
            }
            return nil
        }

        /// Chunks are read and verified a batch at a time, several at once on the bucket pool
        /// when reads wait on the bucket (else in order on this thread): each job keeps only its
        /// outcome, so memory is the chunks in flight, not the batch.
        var pendingChunks: [(id: ObjectID, referrer: String)] = []
        func checkPendingChunks() {
            let batch = pendingChunks
            pendingChunks.removeAll(keepingCapacity: true)
            for (item, result) in zip(batch, concurrently(batch, { self.verifyChunk($0.id, referrer: $0.referrer) })) {
                switch result {
                case .success(.verified(let bytes)):
                    report.chunks += 1
                    report.bytes += UInt64(bytes)
                    if report.chunks % 256 == 0 { progress(report) }
                case .success(.absent): report.absentChunks += 1
                case .success(.problem(let p)): report.problems.append(p)
                case .failure(let e): report.problems.append(.corrupt(item.id, "\(e)"))
                }
            }
        }

        /// `parent` is the referring manifest and entry index, for the same level and length
        /// checks `FileReader` applies.
        /// The check is of the edge, not of the child alone: a manifest already seen (as a
        /// file's manifest, or under another parent) is checked again against each parent.
        /// Returns the manifest's shape (`shape(level:size:)`), nil when it is absent or bad.
        @discardableResult
        func walkManifest(_ id: ObjectID, referrer: String, parent: (Manifest, Int)? = nil) throws -> Int64? {
            if let shape = try seen.value(of: id) {
                if shape >= 0, let (p, i) = parent, Self.shape(level: p.level - 1, size: p.entry(at: i).length) != shape {
                    report.problems.append(.corrupt(id, "manifest \(id) does not match its parent's entry"))
                }
                return shape >= 0 ? shape : nil
            }
            guard let bytes = check(id, .manifest, referrer: referrer) else {
                try seen.insert(id, value: -1)
                return nil
            }
            guard let m = try? Manifest(decoding: bytes) else {
                try seen.insert(id, value: -1)
                report.problems.append(.corrupt(id, "manifest does not decode"))
                return nil
            }
            guard let shape = Self.shape(level: m.level, size: m.totalSize) else {
                try seen.insert(id, value: -1)
                report.problems.append(.corrupt(id, "manifest claims \(m.totalSize) bytes"))
                return nil
            }
            try seen.insert(id, value: shape)
            if let (p, i) = parent {
                do { try FileReader.checkChild(m, of: p, at: i) } catch {
                    report.problems.append(.corrupt(id, "\(error)"))
                    return shape
                }
            }
            report.manifests += 1
            if m.level > 0 {
                for i in 0..<m.count { try walkManifest(m.id(at: i), referrer: "manifest \(id.short)", parent: (m, i)) }
                return shape
            }
            for c in try seen.insertNew((0..<m.count).map { m.id(at: $0) }) {
                pendingChunks.append((c, "manifest \(id.short)"))
                if pendingChunks.count >= Self.verifyChunkBatch { checkPendingChunks() }
            }
            return shape
        }

        /// Trees with an explicit stack: a hostile tree may nest directories without bound.
        func walkTree(_ root: ObjectID, referrer: String) throws {
            var pending = [(root, referrer)]
            while let (id, referrer) = pending.popLast() {
                guard try seen.insert(id), let bytes = check(id, .tree, referrer: referrer) else { continue }
                let t: Tree
                do { t = try Tree(decoding: bytes) } catch {
                    report.problems.append(.corrupt(id, "tree does not decode: \(error)")); continue
                }
                report.trees += 1
                for e in t.entries where e.kind == .file || e.kind == .executable {
                    // A manifest seen before (under another entry) is checked against this one too.
                    if let shape = try walkManifest(e.id!, referrer: "tree \(id.short)"), Self.size(ofShape: shape) != e.size {
                        report.problems.append(
                            .corrupt(
                                id, "gives '\(e.name)' \(e.size) bytes, its manifest \(e.id!.short) describes \(Self.size(ofShape: shape))")
                        )
                    }
                }
                for e in t.entries.reversed() where e.kind == .directory { pending.append((e.id!, "tree \(id.short)")) }
            }
        }

        while let c = commitQueue.popLast() {
            guard try seen.insert(c), let bytes = check(c, .commit, referrer: "a head") else { continue }
            let commit: Commit
            do { commit = try Commit(decoding: bytes) } catch {
                report.problems.append(.corrupt(c, "commit does not decode: \(error)")); continue
            }
            report.commits += 1
            try walkTree(commit.tree, referrer: "commit \(c.short)")
            commitQueue.append(contentsOf: commit.parents)
        }
        checkPendingChunks()

        if allObjects {
            // Pack by pack, a page of rows at a time: never the whole index in memory.
            for (pack, _) in try index.packs() {
                try index.forEachObjectPage(inPack: pack) { page in
                    let walked = Set(try seen.filterContained(page.map(\.id)))
                    for obj in page where !walked.contains(obj.id) {
                        do {
                            let bytes = try read(obj.id, kind: obj.kind, at: obj.location!)
                            report.bytes += UInt64(bytes.count)
                        } catch let e as ArkError {
                            report.problems.append(e.code == .missing ? .missing(obj.id, e.description) : .corrupt(obj.id, e.description))
                        }
                    }
                }
            }
        }
        report.localCopiesReplaced = localCopiesReplaced.load(ordering: .relaxed) - replacedBefore
        return report
    }

    /// A manifest's level and total size in one value of an `ObjectIDSet`; nil for sizes of
    /// 2^56 bytes or more (64 PiB), which no file has.
    static func shape(level: UInt8, size: UInt64) -> Int64? {
        size < 1 << 56 ? Int64(level) << 56 | Int64(size) : nil
    }

    /// The size a `shape` value holds.
    static func size(ofShape shape: Int64) -> UInt64 { UInt64(shape) & (1 << 56 - 1) }

    /// Chunks `verify` hands to the bucket pool at once (16 threads: 16 reads in flight).
    static let verifyChunkBatch = 256

    enum ChunkCheck: Sendable {
        case verified(Int)
        case absent
        case problem(VerifyReport.Problem)
    }

    /// Looks a chunk up and reads it (verified): its size, or what is wrong with it.
    func verifyChunk(_ id: ObjectID, referrer: String) -> ChunkCheck {
        let found: IndexedObject?
        do { found = try index.object(id) } catch { return .problem(.corrupt(id, "index lookup failed: \(error)")) }
        guard let obj = found else { return .problem(.missing(id, "chunk referenced by \(referrer) is not in the index")) }
        guard let loc = obj.location else { return .absent }
        do {
            let bytes = try read(id, kind: obj.kind, at: loc)
            guard obj.kind == .chunk else { return .problem(.corrupt(id, "is a \(obj.kind), \(referrer) expects a chunk")) }
            return .verified(bytes.count)
        } catch let e as ArkError {
            return .problem(e.code == .missing ? .missing(id, e.description) : .corrupt(id, e.description))
        } catch {
            return .problem(.corrupt(id, "\(error)"))
        }
    }
}
