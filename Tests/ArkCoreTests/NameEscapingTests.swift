import Testing
@testable import ArkCore

/// The one escaping of names for terminals, and its inverse for paths on the command line.
@Suite struct NameEscapingTests {
    static let cases: [([UInt8], String)] = [
        (Array("plain.txt".utf8), "plain.txt"),
        (Array("héllo 日本 🙂".utf8), "héllo 日本 🙂"),
        ([0x63, 0x61, 0x66, 0xe9], "caf\\xe9"),
        (Array("new\nline\ttab\rcr".utf8), "new\\nline\\ttab\\rcr"),
        (Array("esc\u{1b}[31mred\u{7f}".utf8), "esc\\x1b[31mred\\x7f"),
        ([0x61, 0xc2, 0x9b, 0x62], "a\\u009bb"),
        ([0xc3], "\\xc3"),
        ([0xc0, 0x80], "\\xc0\\x80"),
        ([0xed, 0xa0, 0x80], "\\xed\\xa0\\x80"),
        ([0xf4, 0x90, 0x80, 0x80], "\\xf4\\x90\\x80\\x80"),
        ([0xff, 0x41], "\\xffA"),
    ]

    @Test(arguments: cases)
    func escapedAndBack(bytes: [UInt8], shown: String) {
        #expect(NameEscaping.escaped(bytes) == shown)
        #expect(FileName(bytes: bytes).description == shown)
        #expect(NameEscaping.unescapingBytes(shown) == bytes)
    }

    @Test func keepingLinesKeepsNewlinesAndTabs() {
        #expect(NameEscaping.escaped(Array("a\nb\tc\r".utf8), keepingLines: true) == "a\nb\tc\\r")
    }

    @Test func backslashesOnTheCommandLine() {
        #expect(NameEscaping.unescapingBytes("a\\\\x41") == Array("a\\x41".utf8))
        #expect(NameEscaping.unescapingBytes("a\\x4") == Array("a\\x4".utf8))
        #expect(NameEscaping.unescapingBytes("a\\q") == Array("a\\q".utf8))
    }
}
