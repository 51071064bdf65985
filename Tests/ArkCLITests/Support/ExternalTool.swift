import Foundation

/// External programs some tests need (`diff`, `stat`, ...). Off CI a missing tool disables the
/// test that needs it; with CI=true the test runs anyway and fails, so nothing skips silently.
enum ExternalTool {
    struct Missing: Error, CustomStringConvertible {
        var name: String
        var description: String { "required tool '\(name)' is not installed (see scripts/deps.sh)" }
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func path(_ name: String, searchPath: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for dir in (searchPath ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Whether a test needing these tools should run: always on CI, else only when all exist.
    static func usable(_ names: String..., isCI: Bool = ExternalTool.isCI) -> Bool {
        isCI || names.allSatisfy { path($0) != nil }
    }

    /// The tool's path, or an error that fails the test.
    static func require(_ name: String, searchPath: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> String {
        guard let p = path(name, searchPath: searchPath) else { throw Missing(name: name) }
        return p
    }

    /// Runs a tool to completion; returns its status and combined output.
    @discardableResult
    static func run(_ name: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try require(name))
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
