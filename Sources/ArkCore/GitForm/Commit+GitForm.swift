/// The git form of a commit: the bytes git hashes (after `commit <size>\0`) to name it.
///
/// - A commit imported from git (`gitRaw` set): `tree <hex>\n`, `parent <hex>\n` per parent,
///   then `gitRaw` exactly as git wrote it. Its id is the original git id (checked at import).
/// - A commit made by ark: derived from its ark fields only, so every node derives the same
///   bytes:
///
///       tree <hex>\n
///       parent <hex>\n            (one per parent, in order)
///       author <name> <<email>> <seconds> <±hhmm>\n
///       committer <name> <<email>> <seconds> <±hhmm>\n
///       change-id <change id>\n   (when the commit has one)
///       \n
///       <message, UTF-8, as stored>
///
///   Names and emails lose the characters git's own writer refuses ('<', '>', newline).
extension Commit {
    package func gitForm(tree: [UInt8], parents: [[UInt8]]) -> [UInt8] {
        var out = Array("tree \(HexCodec.encode(tree))\n".utf8)
        for p in parents { out += Array("parent \(HexCodec.encode(p))\n".utf8) }
        if let gitRaw {
            out += gitRaw
            return out
        }
        out += Array("author \(Self.gitSignature(author))\n".utf8)
        out += Array("committer \(Self.gitSignature(committer))\n".utf8)
        if let changeID { out += Array("change-id \(changeID)\n".utf8) }
        out.append(0x0a)
        out += Array(message.utf8)
        return out
    }

    /// `Name <email> 1700000000 +0130`.
    static func gitSignature(_ s: Signature) -> String {
        func clean(_ v: String) -> String { String(v.unicodeScalars.filter { $0 != "<" && $0 != ">" && $0 != "\n" }) }
        let tz = Int(s.tzOffsetMinutes)
        let sign = tz < 0 ? "-" : "+"
        let hh = abs(tz) / 60, mm = abs(tz) % 60
        let zone = sign + (hh < 10 ? "0" : "") + String(hh) + (mm < 10 ? "0" : "") + String(mm)
        return "\(clean(s.name)) <\(clean(s.email))> \(s.time) \(zone)"
    }
}
