import ArkCore
import Foundation

/// The human form of `ark status`: a header, the peer table, and one head table per repo.
extension StatusReport {
    func printTable() {
        Terminal.out("node    \(node)")
        Terminal.out("store   \(store)")
        Terminal.out(
            "cache   \(Format.bytes(UInt64(cache.bytes))) in \(cache.chunks) fetched chunks, limit \(Format.bytes(UInt64(cache.limit)))")
        Terminal.out("daemon  \(daemonLine)")

        Terminal.out("")
        if peers.isEmpty {
            Terminal.out("no peers configured")
        } else {
            var t = TextTable(["PEER", "NODE", "STATE", "ADDRESS", "SINCE / LAST SEEN", "IN", "OUT"], rightAligned: [5, 6])
            for p in peers {
                let state = p.state.value.map { $0 == "refused" ? "refused (we are not in its remotes)" : $0 } ?? "-"
                let address = p.address.value ?? (p.addrs.isEmpty ? "(LAN discovery)" : p.addrs.joined(separator: ","))
                let when = (p.connected ? p.connectedSince.value : p.lastSeen.value).map(Self.shortTime) ?? "-"
                let traffic = daemon.running
                t.add([
                    p.name.value ?? "-", String(p.node.prefix(12)), state, address, when,
                    traffic ? Format.bytes(p.bytesIn) : "-", traffic ? Format.bytes(p.bytesOut) : "-"
                ])
            }
            t.lines.forEach(Terminal.out)
        }

        for r in repos {
            Terminal.out("")
            var title = "repo \(r.id)"
            if let f = r.fetch.value { title += " (\(f))" }
            if let rep = r.replication.value, rep.chunksQueued > 0 {
                title +=
                    "  replication: \(rep.chunksDone)/\(rep.chunksQueued) chunks, \(Format.bytes(rep.bytesDone)) / \(Format.bytes(rep.bytesQueued))"
                if rep.chunksFailed > 0 { title += ", \(rep.chunksFailed) not available from any peer" }
                title += rep.running ? ", running" : ", idle"
            }
            Terminal.out(title)
            if r.heads.isEmpty {
                Terminal.out("  no heads")
                continue
            }
            var t = TextTable(["  HEAD", "COMMIT", "GEN", "TIME", "PRESENT", "TOTAL", ""], rightAligned: [2, 4, 5, 6])
            for h in r.heads {
                let present = h.bytesPresent.value.map(Format.bytes) ?? "-", total = h.bytesTotal.value.map(Format.bytes) ?? "-"
                let percent = h.bytesTotal.value.map { all in all == 0 ? "100%" : "\((h.bytesPresent.value ?? 0) * 100 / all)%" } ?? ""
                t.add([
                    "  " + Terminal.escaped(h.ref), String(h.commit.prefix(12)), "\(h.generation)", Self.shortTime(h.time), present, total,
                    percent
                ])
            }
            t.lines.forEach(Terminal.out)
        }
    }

    private var daemonLine: String {
        guard daemon.running else {
            return daemon.error.value.map { "not answering (\($0))" } ?? "not running"
        }
        var s = "running (ark \(daemon.command.value ?? "run"), pid \(daemon.pid.value.map(String.init) ?? "?")"
        if let l = daemon.listen.value { s += ", listening on \(l)" }
        if let t = daemon.started.value { s += ", since \(Self.shortTime(t))" }
        return s + ")"
    }

    /// "2026-11-21T10:00:00+01:00" as "2026-11-21 10:00:00".
    static func shortTime(_ iso: String) -> String {
        String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}
