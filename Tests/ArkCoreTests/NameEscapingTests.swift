import Testing

@testable import ArkCore

/// The quoting of paths for terminals (as git quotes paths, with bytes that are not UTF-8
/// escaped), its inverse for paths on the command line, and the escaping of messages.
@Suite struct NameEscapingTests {
    static let cases: [([UInt8], String)] = [
        (Array("plain.txt".utf8), "plain.txt"),
        (Array("héllo 日本 🙂 it's".utf8), "héllo 日本 🙂 it's"),
        (Array("dir/sub dir/ä.txt".utf8), "dir/sub dir/ä.txt"),
        ([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74], #""caf\351.txt""#),
        (Array("dir/".utf8) + [0xe9], #""dir/\351""#),
        (Array("a\nb".utf8), #""a\nb""#),
        (Array("a\tb".utf8), #""a\tb""#),
        (Array("\u{1b}[31m".utf8), #""\033[31m""#),
        (Array("del\u{7f}".utf8), #""del\177""#),
        (Array("say \"hi\"".utf8), #""say \"hi\"""#),
        (Array("back\\slash".utf8), #""back\\slash""#),
        (Array("a\u{85}b".utf8), #""a\302\205b""#),
        (Array("\u{9b}2J".utf8), #""\302\2332J""#),
        (Array("\u{7}\u{8}\u{b}\u{c}\r\0\u{1}".utf8), #""\a\b\v\f\r\000\001""#),
        (Array("é".utf8) + [0xe9], #""é\351""#),
        ([0xc3], #""\303""#),
        ([0xc0, 0x80], #""\300\200""#),
        ([0xed, 0xa0, 0x80], #""\355\240\200""#),
        ([0xf4, 0x90, 0x80, 0x80], #""\364\220\200\200""#),
        ([0xff, 0x41], #""\377A""#)
    ]

    @Test(arguments: cases)
    func quotedAndBack(bytes: [UInt8], shown: String) {
        #expect(NameEscaping.quoted(bytes) == shown)
        #expect(EntryPath(bytes: bytes).description == shown)
        #expect(NameEscaping.unquoted(Array(shown.utf8)) == bytes)
    }

    @Test(
        arguments: [
            (#""caf\xe9.txt""#, [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]),
            (#""\x1B\033""#, [0x1b, 0x1b]),
            (#"caf\351.txt"#, Array(#"caf\351.txt"#.utf8)),
            (#"caf\xe9.txt"#, Array(#"caf\xe9.txt"#.utf8)),
            ("plain \"quote\"", Array("plain \"quote\"".utf8)),
            ("", [])
        ] as [(String, [UInt8])])
    func unquotedReadsHexInQuotesAndTakesOtherPathsLiterally(given: String, bytes: [UInt8]) {
        #expect(NameEscaping.unquoted(Array(given.utf8)) == bytes)
    }

    @Test(arguments: [#"""#, #""abc"#, #""a\q""#, #""a"b"#, #""a\3""#, #""a\400""#, #""a\x4""#, #""a\""#, #""a"""#])
    func malformedQuotedPathsAreRefused(given: String) {
        #expect(NameEscaping.unquoted(Array(given.utf8)) == nil)
    }

    /// Messages, authors and log lines keep their own escaping.
    static let messageCases: [([UInt8], String)] = [
        (Array("héllo 日本".utf8), "héllo 日本"),
        ([0x63, 0x61, 0x66, 0xe9], "caf\\xe9"),
        (Array("new\nline\ttab\rcr".utf8), "new\\nline\\ttab\\rcr"),
        (Array("esc\u{1b}[31mred\u{7f}".utf8), "esc\\x1b[31mred\\x7f"),
        ([0x61, 0xc2, 0x9b, 0x62], "a\\u009bb"),
        ([0xff, 0x41], "\\xffA")
    ]

    @Test(arguments: messageCases)
    func messagesAreEscaped(bytes: [UInt8], shown: String) {
        #expect(NameEscaping.escaped(bytes) == shown)
    }

    @Test func keepingLinesKeepsNewlinesAndTabs() {
        #expect(NameEscaping.escaped(Array("a\nb\tc\r".utf8), keepingLines: true) == "a\nb\tc\\r")
    }
}
