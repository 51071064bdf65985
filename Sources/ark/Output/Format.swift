import Foundation
import Glibc

enum Format {
    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func duration(_ s: Double) -> String {
        if s < 60 { return "\(Int(s.rounded(.up)))s" }
        if s < 3600 { return "\(Int(s) / 60)m\(Int(s) % 60)s" }
        return "\(Int(s) / 3600)h\(Int(s) % 3600 / 60)m"
    }

    /// "2026-11-21 10:00:00 +0100" in the given offset.
    static func time(_ t: Int64, tz: Int16) -> String {
        var secs = time_t(t + Int64(tz) * 60)
        var tmv = tm()
        gmtime_r(&secs, &tmv)
        let sign = tz < 0 ? "-" : "+"
        let a = abs(Int(tz))
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d %@%02d%02d", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
            Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), sign, a / 60, a % 60)
    }

    /// ISO 8601 with offset, for JSON.
    static func iso(_ t: Int64, tz: Int16) -> String {
        let s = time(t, tz: tz)
        let parts = s.split(separator: " ")
        let off = parts[2]
        return "\(parts[0])T\(parts[1])\(off.prefix(3)):\(off.suffix(2))"
    }

    static func localOffsetMinutes(at t: Int64) -> Int16 {
        var secs = time_t(t)
        var tmv = tm()
        localtime_r(&secs, &tmv)
        return Int16(tmv.tm_gmtoff / 60)
    }
}
