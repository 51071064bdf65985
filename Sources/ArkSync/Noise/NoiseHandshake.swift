import ArkCore

/// A Noise HandshakeState (spec section 5.3) for `Noise_<pattern>_25519_ChaChaPoly_BLAKE2b`.
///
/// Drive it with `writeMessage` / `readMessage` in the pattern's order until `isComplete`, then
/// call `split()` for the transport. Any error is fatal: the state refuses further use.
package struct NoiseHandshake: Sendable {
    package static let suffix = "_25519_ChaChaPoly_BLAKE2b"

    package let pattern: NoisePattern
    package let isInitiator: Bool
    private var symmetric: NoiseSymmetricState
    private var localStatic: NoiseCrypto.KeyPair?
    private var localEphemeral: NoiseCrypto.KeyPair?
    /// The peer's static package key: given up front (pre-message patterns like XK) or learned.
    package private(set) var remoteStatic: [UInt8]?
    package private(set) var remoteEphemeral: [UInt8]?
    private var psks: [[UInt8]]
    private var messageIndex = 0
    private var failed = false

    /// - Parameters:
    ///   - protocolName: for example `Noise_XK_25519_ChaChaPoly_BLAKE2b`.
    ///   - localEphemeral: only for tests with fixed vectors; nil draws a fresh random key.
    ///   - remoteStatic: the peer's static package key when the pattern has it as a pre-message.
    ///   - psks: pre-shared keys (32 bytes each), consumed in order by `psk` tokens.
    package init(
        protocolName: String, initiator: Bool, prologue: [UInt8] = [],
        localStatic: NoiseCrypto.KeyPair? = nil, localEphemeral: NoiseCrypto.KeyPair? = nil,
        remoteStatic: [UInt8]? = nil, remoteEphemeral: [UInt8]? = nil, psks: [[UInt8]] = []
    ) throws {
        precondition(Sodium.ready, "libsodium failed to initialize")
        guard protocolName.hasPrefix("Noise_"), protocolName.hasSuffix(Self.suffix) else {
            throw NoiseError.unsupportedProtocol(protocolName)
        }
        let patternName = protocolName.dropFirst("Noise_".count).dropLast(Self.suffix.count)
        pattern = try NoisePattern.named(String(patternName))
        isInitiator = initiator
        symmetric = NoiseSymmetricState(protocolName: protocolName)
        self.localStatic = localStatic
        self.localEphemeral = localEphemeral
        self.remoteStatic = remoteStatic
        self.remoteEphemeral = remoteEphemeral
        guard psks.allSatisfy({ $0.count == 32 }) else { throw NoiseError.missingKey("PSKs must be 32 bytes") }
        let pskTokens = pattern.messages.joined().filter { $0 == .psk }.count
        guard psks.count == pskTokens else { throw NoiseError.missingKey("pattern needs \(pskTokens) PSKs, got \(psks.count)") }
        self.psks = psks
        for key in [remoteStatic, remoteEphemeral].compactMap({ $0 }) where key.count != 32 {
            throw NoiseError.missingKey("remote package keys must be 32 bytes")
        }

        symmetric.mixHash(prologue)
        // Pre-messages: the initiator's first, then the responder's (section 5.3, Initialize).
        for (tokens, ownedByInitiator) in [(pattern.initiatorPreMessage, true), (pattern.responderPreMessage, false)] {
            let mine = ownedByInitiator == initiator
            for token in tokens {
                let key: [UInt8]?
                switch token {
                case .s: key = mine ? localStatic?.publicKey : remoteStatic
                case .e: key = mine ? localEphemeral?.publicKey : remoteEphemeral
                default: throw NoiseError.unsupportedProtocol("pre-message token \(token)")
                }
                guard let key else {
                    throw NoiseError.missingKey("\(mine ? "local" : "remote") \(token) for the pre-message")
                }
                symmetric.mixHash(key)
            }
        }
        if pattern.messages.joined().contains(.s) || pattern.initiatorPreMessage.contains(.s) || pattern.responderPreMessage.contains(.s) {
            let needsLocalStatic =
                pattern.messages.enumerated().contains { i, m in (i % 2 == 0) == initiator && m.contains(.s) }
                || (initiator ? pattern.initiatorPreMessage : pattern.responderPreMessage).contains(.s)
            if needsLocalStatic && localStatic == nil { throw NoiseError.missingKey("local static key") }
        }
    }

    /// True once every handshake message has been written or read.
    package var isComplete: Bool { messageIndex == pattern.messages.count }
    /// True when it is this side's turn to write.
    package var isMyTurn: Bool { !isComplete && (messageIndex % 2 == 0) == isInitiator }
    /// The handshake hash `h`; after completion, a unique binding of the whole session.
    package var handshakeHash: [UInt8] { symmetric.handshakeHash }

    private var usesPSK: Bool { pattern.usesPSK }

    private func dh(_ token: NoisePattern.Token) throws -> [UInt8] {
        // es: initiator's ephemeral with responder's static; se: the reverse.
        let (localIsEphemeral, remoteIsEphemeral): (Bool, Bool)
        switch token {
        case .ee: (localIsEphemeral, remoteIsEphemeral) = (true, true)
        case .ss: (localIsEphemeral, remoteIsEphemeral) = (false, false)
        case .es: (localIsEphemeral, remoteIsEphemeral) = (isInitiator, !isInitiator)
        case .se: (localIsEphemeral, remoteIsEphemeral) = (!isInitiator, isInitiator)
        default: preconditionFailure("not a DH token")
        }
        guard let local = localIsEphemeral ? localEphemeral : localStatic else {
            throw NoiseError.missingKey("local \(localIsEphemeral ? "ephemeral" : "static") for \(token)")
        }
        guard let remote = remoteIsEphemeral ? remoteEphemeral : remoteStatic else {
            throw NoiseError.missingKey("remote \(remoteIsEphemeral ? "ephemeral" : "static") for \(token)")
        }
        return try NoiseCrypto.dh(local, remote)
    }

    /// Writes the next handshake message carrying `payload` (sent encrypted once a key exists).
    package mutating func writeMessage(payload: [UInt8] = []) throws -> [UInt8] {
        guard !failed else { throw NoiseError.wrongState("handshake already failed") }
        guard isMyTurn else { throw NoiseError.wrongState(isComplete ? "handshake already complete" : "not our turn to write") }
        do {
            var out: [UInt8] = []
            for token in pattern.messages[messageIndex] {
                switch token {
                case .e:
                    let pair = localEphemeral ?? NoiseCrypto.KeyPair.generate()
                    localEphemeral = pair
                    out += pair.publicKey
                    symmetric.mixHash(pair.publicKey)
                    if usesPSK { symmetric.mixKey(pair.publicKey) }
                case .s:
                    guard let s = localStatic else { throw NoiseError.missingKey("local static") }
                    out += try symmetric.encryptAndHash(s.publicKey)
                case .ee, .es, .se, .ss:
                    symmetric.mixKey(try dh(token))
                case .psk:
                    symmetric.mixKeyAndHash(psks.removeFirst())
                }
            }
            out += try symmetric.encryptAndHash(payload)
            guard out.count <= NoiseCrypto.maxMessageLength else {
                throw NoiseError.malformedMessage("handshake message of \(out.count) bytes exceeds \(NoiseCrypto.maxMessageLength)")
            }
            messageIndex += 1
            return out
        } catch {
            failed = true
            throw error
        }
    }

    /// Reads the peer's next handshake message and returns its decrypted payload.
    package mutating func readMessage(_ message: [UInt8]) throws -> [UInt8] {
        guard !failed else { throw NoiseError.wrongState("handshake already failed") }
        guard !isComplete, !isMyTurn else {
            throw NoiseError.wrongState(isComplete ? "handshake already complete" : "not our turn to read")
        }
        do {
            guard message.count <= NoiseCrypto.maxMessageLength else {
                throw NoiseError.malformedMessage("handshake message of \(message.count) bytes exceeds \(NoiseCrypto.maxMessageLength)")
            }
            var offset = 0
            func take(_ n: Int, _ what: String) throws -> [UInt8] {
                guard message.count - offset >= n else {
                    throw NoiseError.malformedMessage("truncated \(what): need \(n) bytes at offset \(offset), message is \(message.count)")
                }
                defer { offset += n }
                return Array(message[offset..<offset + n])
            }
            for token in pattern.messages[messageIndex] {
                switch token {
                case .e:
                    guard remoteEphemeral == nil else { throw NoiseError.malformedMessage("remote ephemeral sent twice") }
                    let re = try take(NoiseCrypto.dhLength, "ephemeral key")
                    remoteEphemeral = re
                    symmetric.mixHash(re)
                    if usesPSK { symmetric.mixKey(re) }
                case .s:
                    guard remoteStatic == nil else { throw NoiseError.malformedMessage("remote static sent twice") }
                    let length = NoiseCrypto.dhLength + (symmetric.hasKey ? NoiseCrypto.tagLength : 0)
                    remoteStatic = try symmetric.decryptAndHash(try take(length, "static key"))
                case .ee, .es, .se, .ss:
                    symmetric.mixKey(try dh(token))
                case .psk:
                    symmetric.mixKeyAndHash(psks.removeFirst())
                }
            }
            let rest = Array(message[offset...])
            if symmetric.hasKey && rest.count < NoiseCrypto.tagLength {
                throw NoiseError.malformedMessage("payload shorter than its authentication tag")
            }
            let payload = try symmetric.decryptAndHash(rest)
            messageIndex += 1
            return payload
        } catch {
            failed = true
            throw error
        }
    }

    /// After the last handshake message: the transport cipher states for this side.
    package func split() throws -> NoiseTransport {
        guard !failed else { throw NoiseError.wrongState("handshake failed") }
        guard isComplete else { throw NoiseError.wrongState("handshake not complete") }
        let (initiatorToResponder, responderToInitiator) = symmetric.split()
        return NoiseTransport(
            send: isInitiator ? initiatorToResponder : responderToInitiator,
            receive: isInitiator ? responderToInitiator : initiatorToResponder,
            handshakeHash: symmetric.handshakeHash,
            remoteStatic: remoteStatic,
            canSend: !pattern.isOneWay || isInitiator,
            canReceive: !pattern.isOneWay || !isInitiator)
    }
}
