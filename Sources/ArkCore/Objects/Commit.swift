/// A commit: tree, parents, author and committer, message, and provenance.
public struct Commit: Equatable, Sendable {
    public struct Signature: Equatable, Sendable {
        public var name: String
        public var email: String
        /// Seconds since the Unix epoch.
        public var time: Int64
        /// Offset from UTC in minutes (e.g. +60 for CET).
        public var tzOffsetMinutes: Int16

        public init(name: String, email: String, time: Int64, tzOffsetMinutes: Int16) {
            self.name = name; self.email = email; self.time = time; self.tzOffsetMinutes = tzOffsetMinutes
        }
    }

    public var tree: ObjectID
    public var parents: [ObjectID]
    public var author: Signature
    public var committer: Signature
    public var message: String
    /// jj change id (jj's reverse-hex letters), when known.
    public var changeID: String?
    /// The id of the git commit this was imported from, when imported.
    public var sourceID: String?
    /// Endpoint id of the node that created the commit.
    public var node: ObjectID
    /// For a commit imported from git: the git commit object's bytes after its `tree` and
    /// `parent` lines, exactly (author and committer lines, every other header in order, the
    /// blank line and the message), so its git form, and id, come back bit for bit. See
    /// `Commit+GitForm.swift`. nil for commits made by ark. The decoder refuses git bytes whose
    /// author, committer, message or change id differ from the ark fields (`GitCommitFields`).
    public var gitRaw: [UInt8]?

    public init(
        tree: ObjectID, parents: [ObjectID], author: Signature, committer: Signature, message: String,
        changeID: String? = nil, sourceID: String? = nil, node: ObjectID, gitRaw: [UInt8]? = nil
    ) {
        self.tree = tree; self.parents = parents; self.author = author; self.committer = committer
        self.message = message; self.changeID = changeID; self.sourceID = sourceID; self.node = node
        self.gitRaw = gitRaw
    }
}

extension Commit {
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 200 + message.utf8.count + parents.count * 32 + (gitRaw?.count ?? 0))
        ObjectHeader.write(.commit, into: &w)
        w.id(tree)
        w.varint(UInt64(parents.count))
        for p in parents { w.id(p) }
        for s in [author, committer] {
            w.string(s.name); w.string(s.email); w.svarint(s.time); w.svarint(Int64(s.tzOffsetMinutes))
        }
        w.string(message)
        // Flags: bit 0 change id, bit 1 source id, bit 2 raw git bytes (after the source id).
        w.u8((changeID == nil ? 0 : 1) | (sourceID == nil ? 0 : 2) | (gitRaw == nil ? 0 : 4))
        if let changeID { w.string(changeID) }
        if let sourceID { w.string(sourceID) }
        if let gitRaw { w.data(gitRaw) }
        w.id(node)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "commit")
        try ObjectHeader.read(.commit, from: &r)
        let tree = try r.id()
        let np = try r.count(max: min(ObjectLimits.maxParents, r.remaining / 32), "parent count")
        var parents: [ObjectID] = []
        for _ in 0..<np { parents.append(try r.id()) }
        var sigs: [Signature] = []
        for _ in 0..<2 {
            let name = try r.string(max: ObjectLimits.maxPersonBytes, "name")
            let email = try r.string(max: ObjectLimits.maxPersonBytes, "email")
            let time = try r.svarint()
            let tz = try r.svarint()
            guard (-1440...1440).contains(tz) else { throw r.fail("timezone offset \(tz) out of range") }
            sigs.append(Signature(name: name, email: email, time: time, tzOffsetMinutes: Int16(tz)))
        }
        let message = try r.string(max: ObjectLimits.maxMessageBytes, "message")
        let flags = try r.u8()
        guard flags & ~7 == 0 else { throw r.fail("unknown flags \(flags)") }
        func token(_ name: String) throws -> String {
            let s = try r.string(max: 64, name)
            guard !s.isEmpty, s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) }) else {
                throw r.fail("\(name) must be lowercase letters and digits")
            }
            return s
        }
        let change = flags & 1 != 0 ? try token("change id") : nil
        let source = flags & 2 != 0 ? try token("source id") : nil
        let raw = flags & 4 != 0 ? Array(try r.data(max: ObjectLimits.maxGitCommitBytes, "git commit bytes")) : nil
        // What follows a git commit's tree and parent lines starts with its author line.
        if let raw, !raw.starts(with: Array("author ".utf8)) { throw r.fail("git commit bytes do not start with an author line") }
        let node = try r.id()
        try r.expectEnd()
        self.init(
            tree: tree, parents: parents, author: sigs[0], committer: sigs[1], message: message,
            changeID: change, sourceID: source, node: node, gitRaw: raw)
        // `ark log` and git must show the same commit: the git bytes say what the ark fields say.
        if let raw {
            let fields = try GitCommitFields(raw: raw) { r.fail("git commit bytes: \($0)") }
            if let field = fields.disagreement(with: self) { throw r.fail("git commit bytes disagree with its \(field)") }
        }
    }
}
