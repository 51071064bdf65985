import NIOCore

/// The outbound scheduler: each transport message is filled with control frames first, then
/// notifications, then stream data round-robin (one quantum per stream per turn, bounded by the
/// stream's credit), so a large response never starves notifications or other streams.
extension PeerMultiplexer {
    func schedule(_ stream: MuxStream) {
        guard !stream.inRing, stream.hasSendWork else { return }
        stream.inRing = true
        ring.append(stream.id)
    }

    /// Writes transport messages while the channel accepts them.
    func pump() {
        assertOnEventLoop()
        guard !pumping, case .open = phase, let context else { return }
        pumping = true
        defer { pumping = false }
        var wrote = false
        while context.channel.isWritable {
            var plaintext: [UInt8] = []
            fill(&plaintext)
            if plaintext.isEmpty { break }
            writePlaintext(plaintext)
            wrote = true
            guard case .open = phase else { return }
        }
        if wrote { context.flush() }
    }

    private func fill(_ out: inout [UInt8]) {
        let capacity = NoiseTransport.maxPlaintextLength
        for queue in [\PeerMultiplexer.control, \PeerMultiplexer.notifications] {
            var taken = 0
            for frame in self[keyPath: queue] {
                if out.count + frame.encodedLength > capacity { break }
                frame.encode(into: &out)
                taken += 1
            }
            self[keyPath: queue].removeFirst(taken)
            if !self[keyPath: queue].isEmpty { return }
        }
        while !ring.isEmpty {
            let space = capacity - out.count - MuxFrame.maxHeaderLength
            if space < 64 { return }
            let id = ring.removeFirst()
            guard let stream = streams[id], stream.hasSendWork else {
                streams[id]?.inRing = false
                continue
            }
            let remaining = stream.sendBody.count - stream.sendOffset
            if remaining > 0 {
                let n = min(remaining, stream.sendCredit, limits.schedulerQuantum, space)
                if n == 0 {  // out of credit: leaves the ring until a CREDIT frame arrives
                    stream.inRing = false
                    continue
                }
                MuxFrame(.data, stream: id, payload: stream.sendBody[stream.sendOffset..<stream.sendOffset + n]).encode(into: &out)
                stream.sendOffset += n
                stream.sendCredit -= n
            }
            if stream.sendOffset == stream.sendBody.count, let end = stream.sendEnd {
                guard out.count + end.encodedLength <= capacity else {
                    ring.insert(id, at: 0)
                    return
                }
                end.encode(into: &out)
                stream.sendEnd = nil
                stream.sendBody = []
                stream.sendOffset = 0
                stream.inRing = false
                if !stream.isLocal {  // the response is out: the peer's stream slot and its budget are free
                    streams[id] = nil
                    remoteOpen -= 1
                    releaseResponse(stream: id)
                }
                continue
            }
            ring.append(id)  // next turn goes to the next stream
        }
    }
}
