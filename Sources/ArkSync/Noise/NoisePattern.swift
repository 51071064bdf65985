/// A Noise handshake pattern (spec sections 7 and 9): pre-messages and message token lists,
/// with optional `pskN` modifiers. Covers the one-way, fundamental and deferred patterns.
package struct NoisePattern: Sendable, Equatable {
    package enum Token: String, Sendable {
        case e, s, ee, es, se, ss, psk
    }

    /// The pattern part of the protocol name, such as `XK` or `XKpsk3`.
    package let name: String
    let initiatorPreMessage: [Token]
    let responderPreMessage: [Token]
    /// Handshake messages in order; even indices are sent by the initiator.
    let messages: [[Token]]
    /// One-way patterns (N, K, X) carry transport data from initiator to responder only.
    package let isOneWay: Bool

    package var usesPSK: Bool { messages.contains { $0.contains(.psk) } }
    package var messageCount: Int { messages.count }

    /// Looks up a base pattern and applies `pskN` modifiers (`XKpsk3`, `NNpsk0+psk2`).
    package static func named(_ fullName: String) throws -> NoisePattern {
        var base = fullName
        var psks: [Int] = []
        if let range = fullName.firstRange(of: "psk") {
            base = String(fullName[..<range.lowerBound])
            for modifier in fullName[range.lowerBound...].split(separator: "+", omittingEmptySubsequences: false) {
                guard modifier.hasPrefix("psk"), let n = Int(modifier.dropFirst(3)) else {
                    throw NoiseError.unsupportedProtocol("pattern \(fullName): bad modifier \(modifier)")
                }
                psks.append(n)
            }
        }
        guard let notation = table[base] else { throw NoiseError.unsupportedProtocol("pattern \(fullName)") }
        var pattern = try parse(name: fullName, notation: notation, oneWay: ["N", "K", "X"].contains(base))
        for n in psks {
            guard n <= pattern.messages.count else {
                throw NoiseError.unsupportedProtocol("pattern \(fullName): psk\(n) beyond the last message")
            }
            var messages = pattern.messages
            if n == 0 { messages[0].insert(.psk, at: 0) } else { messages[n - 1].append(.psk) }
            pattern = NoisePattern(
                name: fullName, initiatorPreMessage: pattern.initiatorPreMessage,
                responderPreMessage: pattern.responderPreMessage, messages: messages,
                isOneWay: pattern.isOneWay)
        }
        return pattern
    }

    /// Parses the spec's notation, lines separated by `|`: `<- s | ... | -> e, es | <- e, ee`.
    private static func parse(name: String, notation: String, oneWay: Bool) throws -> NoisePattern {
        var pre: [[Token]] = [[], []]
        var messages: [[Token]] = []
        var seenEllipsis = !notation.contains("...")
        for rawLine in notation.split(separator: "|") {
            let words = rawLine.split(whereSeparator: { $0 == " " || $0 == "," })
            guard let arrow = words.first else { throw NoiseError.unsupportedProtocol("pattern \(name)") }
            if arrow == "..." { seenEllipsis = true; continue }
            let fromInitiator = arrow == "->"
            guard fromInitiator || arrow == "<-" else { throw NoiseError.unsupportedProtocol("pattern \(name)") }
            let tokens = try words.dropFirst().map { word -> Token in
                guard let token = Token(rawValue: String(word)) else {
                    throw NoiseError.unsupportedProtocol("pattern \(name): token \(word)")
                }
                return token
            }
            if !seenEllipsis {
                pre[fromInitiator ? 0 : 1] += tokens
            } else {
                guard fromInitiator == (messages.count % 2 == 0) else {
                    throw NoiseError.unsupportedProtocol("pattern \(name): messages do not alternate")
                }
                messages.append(tokens)
            }
        }
        return NoisePattern(
            name: name, initiatorPreMessage: pre[0], responderPreMessage: pre[1],
            messages: messages, isOneWay: oneWay)
    }

    /// Every base pattern of spec sections 7.4, 7.5 and 18 (deferred).
    package static let baseNames: [String] = Array(table.keys).sorted()

    private static let table: [String: String] = [
        // One-way.
        "N": "<- s | ... | -> e, es",
        "K": "-> s | <- s | ... | -> e, es, ss",
        "X": "<- s | ... | -> e, es, s, ss",
        // Interactive, fundamental.
        "NN": "-> e | <- e, ee",
        "NK": "<- s | ... | -> e, es | <- e, ee",
        "NX": "-> e | <- e, ee, s, es",
        "KN": "-> s | ... | -> e | <- e, ee, se",
        "KK": "-> s | <- s | ... | -> e, es, ss | <- e, ee, se",
        "KX": "-> s | ... | -> e | <- e, ee, se, s, es",
        "XN": "-> e | <- e, ee | -> s, se",
        "XK": "<- s | ... | -> e, es | <- e, ee | -> s, se",
        "XX": "-> e | <- e, ee, s, es | -> s, se",
        "IN": "-> e, s | <- e, ee, se",
        "IK": "<- s | ... | -> e, es, s, ss | <- e, ee, se",
        "IX": "-> e, s | <- e, ee, se, s, es",
        // Interactive, deferred.
        "NK1": "<- s | ... | -> e | <- e, ee, es",
        "NX1": "-> e | <- e, ee, s | -> es",
        "X1N": "-> e | <- e, ee | -> s | <- se",
        "X1K": "<- s | ... | -> e, es | <- e, ee | -> s | <- se",
        "XK1": "<- s | ... | -> e | <- e, ee, es | -> s, se",
        "X1K1": "<- s | ... | -> e | <- e, ee, es | -> s | <- se",
        "X1X": "-> e | <- e, ee, s, es | -> s | <- se",
        "XX1": "-> e | <- e, ee, s | -> es, s, se",
        "X1X1": "-> e | <- e, ee, s | -> es, s | <- se",
        "K1N": "-> s | ... | -> e | <- e, ee | -> se",
        "K1K": "-> s | <- s | ... | -> e, es | <- e, ee | -> se",
        "KK1": "-> s | <- s | ... | -> e | <- e, ee, se, es",
        "K1K1": "-> s | <- s | ... | -> e | <- e, ee, es | -> se",
        "K1X": "-> s | ... | -> e | <- e, ee, s, es | -> se",
        "KX1": "-> s | ... | -> e | <- e, ee, se, s | -> es",
        "K1X1": "-> s | ... | -> e | <- e, ee, s | -> se, es",
        "I1N": "-> e, s | <- e, ee | -> se",
        "I1K": "<- s | ... | -> e, es, s | <- e, ee | -> se",
        "IK1": "<- s | ... | -> e, s | <- e, ee, se, es",
        "I1K1": "<- s | ... | -> e, s | <- e, ee, es | -> se",
        "I1X": "-> e, s | <- e, ee, s, es | -> se",
        "IX1": "-> e, s | <- e, ee, se, s | -> es",
        "I1X1": "-> e, s | <- e, ee, s | -> se, es"
    ]
}
