import Foundation

/// The few elements ark reads from S3's XML answers (ListObjectsV2, multipart upload, errors),
/// found by tag in the text. S3's answers are flat and never use attributes or CDATA for these
/// elements, so a purpose-built reader is enough and needs no XML library.
package struct S3XML: Sendable {
    let text: Substring

    package init(_ text: String) { self.text = Substring(text) }
    init(_ text: Substring) { self.text = text }

    /// The text of the first `<tag>` element, entities decoded.
    package func first(_ tag: String) -> String? {
        guard let range = elementRange(tag, in: text.startIndex..<text.endIndex) else { return nil }
        return Self.decodeEntities(text[range])
    }

    /// Every `<tag>...</tag>` element, each as its own document.
    package func all(_ tag: String) -> [S3XML] {
        var out: [S3XML] = []
        var from = text.startIndex
        while let range = elementRange(tag, in: from..<text.endIndex) {
            out.append(S3XML(text[range]))
            from = range.upperBound
        }
        return out
    }

    /// The range of the content of the first `<tag>` (or `<tag ...>`) element in `bounds`.
    private func elementRange(_ tag: String, in bounds: Range<Substring.Index>) -> Range<Substring.Index>? {
        var from = bounds.lowerBound
        let open = "<\(tag)"
        while let start = text[from..<bounds.upperBound].range(of: open) {
            let after = start.upperBound
            guard after < bounds.upperBound else { return nil }
            let next = text[after]
            if next == ">" || next == " " {
                guard let close = text[after..<bounds.upperBound].firstIndex(of: ">") else { return nil }
                let contentStart = text.index(after: close)
                if text[start.lowerBound..<close].hasSuffix("/") { return contentStart..<contentStart }
                guard let end = text[contentStart..<bounds.upperBound].range(of: "</\(tag)>") else { return nil }
                return contentStart..<end.lowerBound
            }
            from = after
        }
        return nil
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and numeric references.
    static func decodeEntities(_ raw: Substring) -> String {
        guard raw.contains("&") else { return String(raw) }
        var out = ""
        var rest = raw
        while let amp = rest.firstIndex(of: "&") {
            out += rest[rest.startIndex..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let name = rest[rest.index(after: amp)..<semi]
            switch name {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let scalar: UInt32? =
                    name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16) : name.hasPrefix("#") ? UInt32(name.dropFirst()) : nil
                if let scalar, let u = Unicode.Scalar(scalar) { out.unicodeScalars.append(u) } else { out += rest[amp...semi] }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}

/// One page of ListObjectsV2.
package struct S3ListPage: Sendable, Equatable {
    package var objects: [(key: String, size: UInt64)]
    package var nextContinuationToken: String?

    package init(xml: String) {
        let doc = S3XML(xml)
        objects = doc.all("Contents").compactMap { item in
            guard let key = item.first("Key") else { return nil }
            return (key, UInt64(item.first("Size") ?? "0") ?? 0)
        }
        let truncated = doc.first("IsTruncated") == "true"
        nextContinuationToken = truncated ? doc.first("NextContinuationToken") : nil
    }

    package static func == (a: S3ListPage, b: S3ListPage) -> Bool {
        a.nextContinuationToken == b.nextContinuationToken && a.objects.map(\.key) == b.objects.map(\.key)
            && a.objects.map(\.size) == b.objects.map(\.size)
    }
}
