import Foundation
import Testing

@Suite struct SmokeTests {
    @Test func idIsStableAndHex() throws {
        let dir = TempDir()
        let a = try ArkProcess.run(["id"], cwd: dir.path)
        let b = try ArkProcess.run(["id"], cwd: dir.path)
        #expect(a.ok, "\(a.stderr)")
        let id = a.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64 && id.allSatisfy(\.isHexDigit))
        #expect(a.stdout == b.stdout)
        let file = try String(contentsOfFile: dir.file("data/endpoint_id"), encoding: .utf8)
        #expect(file.trimmingCharacters(in: .whitespacesAndNewlines) == id)
    }
}
