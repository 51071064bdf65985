/// The transport phase after `Split()`: one CipherState per direction, with the handshake hash
/// for channel binding. Transport messages are at most 65535 bytes including the 16-byte tag.
package struct NoiseTransport: Sendable {
    package static let maxPlaintextLength = NoiseCrypto.maxMessageLength - NoiseCrypto.tagLength

    var send: NoiseCipherState
    var receive: NoiseCipherState
    package let handshakeHash: [UInt8]
    /// The peer's authenticated static package key (nil for patterns without one).
    package let remoteStatic: [UInt8]?
    let canSend: Bool
    let canReceive: Bool
    private var failed = false

    init(
        send: NoiseCipherState, receive: NoiseCipherState, handshakeHash: [UInt8], remoteStatic: [UInt8]?,
        canSend: Bool, canReceive: Bool
    ) {
        self.send = send
        self.receive = receive
        self.handshakeHash = handshakeHash
        self.remoteStatic = remoteStatic
        self.canSend = canSend
        self.canReceive = canReceive
    }

    package mutating func encrypt(_ plaintext: [UInt8]) throws -> [UInt8] {
        guard !failed else { throw NoiseError.wrongState("transport already failed") }
        guard canSend else { throw NoiseError.wrongState("one-way pattern: the responder cannot send") }
        guard plaintext.count <= Self.maxPlaintextLength else {
            throw NoiseError.malformedMessage("plaintext of \(plaintext.count) bytes exceeds \(Self.maxPlaintextLength)")
        }
        return try send.encrypt(plaintext)
    }

    /// Decrypts the next message; any failure poisons the transport (TCP delivers in order,
    /// so a bad message means tampering and the connection must be dropped).
    package mutating func decrypt(_ ciphertext: [UInt8]) throws -> [UInt8] {
        guard !failed else { throw NoiseError.wrongState("transport already failed") }
        guard canReceive else { throw NoiseError.wrongState("one-way pattern: the initiator cannot receive") }
        do {
            guard ciphertext.count <= NoiseCrypto.maxMessageLength else {
                throw NoiseError.malformedMessage("transport message of \(ciphertext.count) bytes exceeds \(NoiseCrypto.maxMessageLength)")
            }
            guard ciphertext.count >= NoiseCrypto.tagLength else {
                throw NoiseError.malformedMessage("transport message shorter than its tag")
            }
            return try receive.decrypt(ciphertext)
        } catch {
            failed = true
            throw error
        }
    }

    package mutating func rekeySend() throws { try send.rekey() }
    package mutating func rekeyReceive() throws { try receive.rekey() }
}
