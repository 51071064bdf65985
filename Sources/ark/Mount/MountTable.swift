import ArkCore
import Foundation

/// Entries of /proc/self/mountinfo: which FUSE connection serves a mountpoint.
struct MountTable {
    struct Entry { var mountpoint: String; var major: Int; var minor: Int; var fstype: String }

    static func read() -> [Entry] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 6, let sep = f.firstIndex(of: "-"), sep + 1 < f.count else { return nil }
            let dev = f[2].split(separator: ":").compactMap { Int($0) }
            guard dev.count == 2 else { return nil }
            return Entry(mountpoint: unescape(String(f[4])), major: dev[0], minor: dev[1], fstype: String(f[sep + 1]))
        }
    }

    static func entry(at mountpoint: String) -> Entry? { read().last { $0.mountpoint == mountpoint } }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    static func unescape(_ s: String) -> String {
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x5c, i + 3 < b.count, let v = UInt8(String(decoding: b[i + 1...i + 3], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An absolute, normalized path without resolving symlinks (a stale mount cannot be resolved).
    static func absolute(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (p as NSString).standardizingPath
    }
}
