import Testing

@Suite struct ExternalToolTests {
    @Test func missingToolFailsOnCI() throws {
        let missing = "ark-no-such-tool-\(UInt32.random(in: 0...UInt32.max))"
        #expect(ExternalTool.usable(missing, isCI: true), "on CI a test needing a missing tool must run (and fail)")
        #expect(!ExternalTool.usable(missing, isCI: false))
        #expect(throws: ExternalTool.Missing.self) { try ExternalTool.require(missing) }
        #expect(throws: ExternalTool.Missing.self) { try ExternalTool.require("sh", searchPath: "/nonexistent") }
        #expect(try ExternalTool.require("sh").hasSuffix("/sh"))
    }

    /// The tools the end-to-end suites use: on CI their absence is a failure here too.
    @Test(.enabled(if: ExternalTool.usable("diff")))
    func requiredToolsPresent() throws {
        _ = try ExternalTool.require("diff")
    }
}
