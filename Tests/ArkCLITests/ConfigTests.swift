import Foundation
import Testing

/// A valid ark.toml: store path relative to the file, remotes usable as revision suffixes.
@Suite struct ConfigTests {
    @Test func storePathAndRemoteNames() throws {
        let ws = Workspace()
        // First learn this node's id with a plain store, then name it as a remote.
        try ws.write("conf/ark.toml", Array("[store]\npath = \"../shared-store\"\n".utf8))
        let id = try ws.ok("id", "--config", "conf/ark.toml")
        #expect(ws.exists("shared-store/node.key"))
        #expect(!ws.exists("conf/shared-store") && !ws.exists("data"))
        try ws.write(
            "conf/ark.toml",
            Array(
                """
                # comment
                [store]
                path = "../shared-store"

                [[repos]]
                id = "proj"
                remotes = [{ name = "me-again", node_id = "\(id)" }]

                [sync]
                enumerate_threshold = 16
                """.utf8))
        try ws.write("src/f", Array("hello\n".utf8))
        let commit = try ws.ok("commit", "src", "--repo", "proj", "--config", "conf/ark.toml")
        #expect(try ws.ok("log", "--oneline", "--config", "conf/ark.toml", "proj@me-again").hasPrefix(String(commit.prefix(12))))
        let cat = try ws.ark("cat", "--config", "conf/ark.toml", "proj@\(id):f")
        #expect(cat.stdout == "hello\n")
        // A repo not declared in the file still commits, with a warning.
        let other = try ws.ark("commit", "src", "--repo", "undeclared", "--config", "conf/ark.toml")
        #expect(other.ok)
        #expect(other.stderr.contains("warning: repo 'undeclared' is not declared"))
    }
}
