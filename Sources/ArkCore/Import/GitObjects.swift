/// Parsed git objects, as `git cat-file` prints them.
struct GitCommit {
    var tree: String
    var parents: [String]
    var author: Commit.Signature
    var committer: Commit.Signature
    /// jj's `change-id` header, when present and well formed.
    var changeID: String?
    var message: String
    /// The object's bytes after its `tree` and `parent` lines, exactly (`Commit.gitRaw`).
    var raw: [UInt8] = []
}

struct GitTreeEntry {
    enum Kind { case file, executable, symlink, directory, gitlink }
    var kind: Kind
    var name: FileName
    var id: [UInt8]
    /// The mode as git wrote it (octal ASCII).
    var mode: String
}

extension GitCommit {
    init(parsing bytes: [UInt8], id: String) throws {
        func fail(_ why: String) -> ArkError { ArkError(.malformed, "git commit \(id): \(why)") }
        // The tree line first, then the parent lines, as git itself reads them; what follows is `raw`.
        var i = 0
        var tree: String?, parents: [String] = []
        while i < bytes.count {
            let nl = bytes[i...].firstIndex(of: 0x0a) ?? bytes.count
            let line = bytes[i..<nl]
            if i == 0, line.starts(with: Array("tree ".utf8)) {
                tree = String(decoding: line.dropFirst(5), as: UTF8.self)
            } else if tree != nil, line.starts(with: Array("parent ".utf8)) {
                parents.append(String(decoding: line.dropFirst(7), as: UTF8.self))
            } else {
                break
            }
            i = min(nl + 1, bytes.count)
        }
        guard let tree else { throw fail("no tree") }
        let raw = Array(bytes[i...])
        let fields = try GitCommitFields(raw: raw, fail)
        self.init(
            tree: tree, parents: parents, author: fields.author, committer: fields.committer, changeID: fields.changeID,
            message: fields.message, raw: raw)
    }

    /// `Name <email> 1700000000 +0130`.
    static func signature(_ v: [UInt8], _ fail: (String) -> ArkError) throws -> Commit.Signature {
        guard let gt = v.lastIndex(of: 0x3e), let lt = v[..<gt].lastIndex(of: 0x3c) else { throw fail("bad signature") }
        var name = v[..<lt]
        while name.last == 0x20 { name = name.dropLast() }
        let email = String(decoding: v[(lt + 1)..<gt], as: UTF8.self)
        let rest = String(decoding: v[(gt + 1)...], as: UTF8.self).split(separator: " ")
        guard rest.count >= 1, let time = Int64(rest[0]) else { throw fail("bad signature time") }
        var tz: Int16 = 0
        if rest.count >= 2 {
            let t = rest[1]
            guard t.count == 5, let sign = t.first, sign == "+" || sign == "-", let hh = Int16(t.dropFirst().prefix(2)),
                let mm = Int16(t.suffix(2)),
                hh * 60 + mm <= 1440
            else { throw fail("bad timezone '\(t)'") }
            tz = (sign == "-" ? -1 : 1) * (hh * 60 + mm)
        }
        return Commit.Signature(name: String(decoding: name, as: UTF8.self), email: email, time: time, tzOffsetMinutes: tz)
    }
}

/// What a git commit's bytes after its tree and parent lines (`Commit.gitRaw`) say in ark's
/// terms. The one parse both `ark import` and the commit decoder use, so a stored commit's ark
/// fields and its git form cannot disagree.
struct GitCommitFields {
    var author: Commit.Signature
    var committer: Commit.Signature
    /// jj's `change-id` header, when present and well formed.
    var changeID: String?
    /// The message, decoded by the `encoding` header (Latin-1) or as UTF-8.
    var message: String

    init(raw bytes: [UInt8], _ fail: (String) -> ArkError) throws {
        var i = 0
        var author: Commit.Signature?, committer: Commit.Signature?, changeID: String?, encoding: String?
        while i < bytes.count {
            let nl = bytes[i...].firstIndex(of: 0x0a) ?? bytes.count
            let line = bytes[i..<nl]
            i = nl + 1
            if line.isEmpty { break }
            if line.first == 0x20 { continue }  // continuation of a multi-line header (gpgsig, mergetag)
            let sp = line.firstIndex(of: 0x20) ?? line.endIndex
            let key = String(decoding: line[line.startIndex..<sp], as: UTF8.self)
            let value = sp < line.endIndex ? Array(line[(sp + 1)...]) : []
            switch key {
            case "author": author = try GitCommit.signature(value, fail)
            case "committer": committer = try GitCommit.signature(value, fail)
            case "encoding": encoding = String(decoding: value, as: UTF8.self).lowercased()
            case "change-id":
                let v = String(decoding: value, as: UTF8.self)
                if !v.isEmpty, v.count <= 64, v.utf8.allSatisfy({ $0 >= 0x6b && $0 <= 0x7a }) { changeID = v }
            default: break
            }
        }
        guard let author, let committer else { throw fail("no author or committer") }
        let body = i < bytes.count ? Array(bytes[i...]) : []
        if let encoding, !["utf-8", "utf8"].contains(encoding), encoding.contains("8859-1") || encoding.contains("latin1") {
            message = String(body.map { Character(Unicode.Scalar($0)) })
        } else {
            message = String(decoding: body, as: UTF8.self)
        }
        self.author = author; self.committer = committer; self.changeID = changeID
    }

    /// Whether `commit`'s ark fields say exactly this, byte for byte; else the first field that differs.
    func disagreement(with commit: Commit) -> String? {
        func same(_ a: Commit.Signature, _ b: Commit.Signature) -> Bool {
            a.name.utf8.elementsEqual(b.name.utf8) && a.email.utf8.elementsEqual(b.email.utf8) && a.time == b.time
                && a.tzOffsetMinutes == b.tzOffsetMinutes
        }
        if !same(author, commit.author) { return "author" }
        if !same(committer, commit.committer) { return "committer" }
        if !message.utf8.elementsEqual(commit.message.utf8) { return "message" }
        if changeID != commit.changeID { return "change id" }
        return nil
    }
}

extension GitTreeEntry {
    /// Entries of a binary git tree: `<octal mode> <name>\0<raw id>` repeated.
    static func parse(_ bytes: [UInt8], hashLength: Int, id: String) throws -> [GitTreeEntry] {
        func fail(_ why: String) -> ArkError { ArkError(.malformed, "git tree \(id): \(why)") }
        var out: [GitTreeEntry] = []
        var i = 0
        while i < bytes.count {
            guard let sp = bytes[i...].firstIndex(of: 0x20), let nul = bytes[sp...].firstIndex(of: 0), nul + 1 + hashLength <= bytes.count
            else {
                throw fail("truncated entry")
            }
            let mode = String(decoding: bytes[i..<sp], as: UTF8.self)
            // git names are bytes: a name that is not UTF-8 is kept exactly (tree format v2).
            let name = FileName(bytes: bytes[(sp + 1)..<nul])
            // The kind by the mode's type bits, as git reads it; the mode itself is kept exactly.
            guard (1...7).contains(mode.utf8.count), let bits = UInt32(mode, radix: 8) else {
                throw fail("entry '\(name)' has unknown mode \(mode)")
            }
            let kind: Kind
            switch bits & 0o170000 {
            case 0o100000: kind = bits & 0o111 != 0 ? .executable : .file
            case 0o120000: kind = .symlink
            case 0o040000: kind = .directory
            case 0o160000: kind = .gitlink
            default: throw fail("entry '\(name)' has unknown mode \(mode)")
            }
            out.append(GitTreeEntry(kind: kind, name: name, id: Array(bytes[(nul + 1)..<(nul + 1 + hashLength)]), mode: mode))
            i = nul + 1 + hashLength
        }
        return out
    }
}

/// `git cat-file --batch`: one long-running process answering object requests in order.
final class GitCatFile {
    private let git: GitProcess

    init(gitDir: String) throws { git = try GitProcess(gitDir: gitDir, ["cat-file", "--batch"]) }

    /// Asks for an object; its content (`size` bytes) must be consumed before the next request.
    func request(_ hex: String) throws -> (type: String, size: Int) {
        try git.write(Array((hex + "\n").utf8))
        guard let header = try git.readLine() else { throw ArkError(.io, "git cat-file ended early") }
        let parts = header.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 3, let size = Int(parts[2]) else {
            throw ArkError(.missing, "git object \(hex) is missing from the repository (\(String(decoding: header, as: UTF8.self)))")
        }
        return (parts[1], size)
    }

    func content(size: Int) throws -> [UInt8] {
        let bytes = try git.read(count: size)
        try endContent()
        return bytes
    }

    /// Reads part of the current object's content (see `request`).
    func read(into: UnsafeMutableRawBufferPointer) throws -> Int { try git.read(into: into) }

    /// Consumes the newline after an object's content.
    func endContent() throws { _ = try git.read(count: 1) }

    func object(_ hex: String, type: String) throws -> [UInt8] {
        let (t, size) = try request(hex)
        guard t == type else {
            _ = try content(size: size)
            throw ArkError(.malformed, "git object \(hex) is a \(t), expected a \(type)")
        }
        return try content(size: size)
    }
}
