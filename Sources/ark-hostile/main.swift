// ark-hostile: a misbehaving peer built from ArkSync's own transport and codec, for the tests
// and scripts/bench-hostile.sh. It attacks one real `ark` daemon on loopback (or in a network
// namespace the caller created) and prints what it did as one JSON object on stdout.
//
// Usage: ark-hostile <attack> --target HOST:PORT [--victim NODEID] [--key-store DIR] [options]
//   --key-store DIR   a store directory whose node.key is the attacker's identity (created if
//                     absent); list its id in the victim's remotes to attack as a member
//   --victim NODEID   the daemon's node id (needed by attacks that complete the handshake)
// Attacks: see `HostileAttack.all`.
import ArkCore
import ArkSync
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, !name.hasPrefix("-") else {
    FileHandle.standardError.write(
        Data(
            "usage: ark-hostile <attack> --target HOST:PORT [options]; attacks: \(HostileAttack.all.keys.sorted().joined(separator: ", "))\n"
                .utf8))
    exit(64)
}
guard let attack = HostileAttack.all[name] else {
    FileHandle.standardError.write(
        Data("ark-hostile: unknown attack '\(name)' (known: \(HostileAttack.all.keys.sorted().joined(separator: ", ")))\n".utf8))
    exit(64)
}
do {
    let options = try HostileOptions(Array(arguments.dropFirst()))
    let report = try await attack(options)
    let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    FileHandle.standardOutput.write(json + Data("\n".utf8))
} catch {
    FileHandle.standardError.write(Data("ark-hostile \(name): \(error)\n".utf8))
    exit(1)
}
