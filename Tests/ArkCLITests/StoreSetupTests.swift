import Foundation
import Testing

/// Several processes opening a store that does not exist yet at the same moment: each one
/// succeeds, and they agree on the node id (one key, one set of index tables). Without the
/// setup lock, about one round in four failed here with "table ... already exists".
@Suite struct StoreSetupTests {
    @Test func concurrentFirstOpensAgree() throws {
        for round in 0..<8 {
            let dir = TempDir("ark-setup")
            // Started from one shell, so the eight processes open the store within a few ms.
            let script = "for i in 1 2 3 4 5 6 7 8; do (\"$0\" id > out.$i 2>&1 || echo FAILED >> out.$i) & done; wait"
            let r = try sh("cd '\(dir.path)' && /bin/sh -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))' '\(ArkProcess.binary)'")
            #expect(r.status == 0)
            let texts = (1...8).map { (try? String(contentsOfFile: dir.file("out.\($0)"), encoding: .utf8)) ?? "" }
            #expect(Set(texts).count == 1 && texts[0].count == 65, "round \(round): \(Set(texts))")
        }
    }
}
