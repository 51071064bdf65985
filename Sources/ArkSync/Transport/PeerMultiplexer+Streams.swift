import NIOCore

/// Inbound frame handling and the request/response life cycle of streams.
extension PeerMultiplexer {
    private func isLocalParity(_ id: UInt64) -> Bool { (id % 2 == 1) == isInitiator }

    private func violation(_ message: String) -> SyncError { .protocolViolation(message) }

    func handleFrames(_ frames: [MuxFrame]) throws {
        assertOnEventLoop()
        for frame in frames {
            guard case .open = phase else { return }
            try handleFrame(frame)
        }
    }

    private func handleFrame(_ frame: MuxFrame) throws {
        let id = frame.stream
        switch frame.kind {
        case .accept, .reject:
            throw violation("unexpected \(frame.kind) after the handshake")
        case .notify, .notifyPart:
            guard id == 0 else { throw violation("\(frame.kind) on stream \(id), expected the control stream") }
            guard notifyBuffer.count + frame.payload.count <= limits.maxNotification else {
                throw violation("notification exceeds \(limits.maxNotification) bytes")
            }
            notifyBuffer.append(contentsOf: frame.payload)
            if frame.kind == .notify {
                inbox?.yield(notifyBuffer)
                notifyBuffer = []
            }
        case .open:
            guard id != 0, !isLocalParity(id), id > lastRemoteID else {
                throw violation("OPEN of stream \(id) misuses stream ids (last opened by peer: \(lastRemoteID))")
            }
            guard remoteOpen < limits.maxOpenStreams else {
                throw violation("peer opened more than \(limits.maxOpenStreams) concurrent streams")
            }
            guard frame.payload.isEmpty else { throw violation("OPEN of stream \(id) carries a payload") }
            lastRemoteID = id
            remoteOpen += 1
            streams[id] = MuxStream(id: id, isLocal: false, window: limits.initialWindow)
        case .data:
            guard let stream = try inboundStream(frame) else { return }
            guard !stream.receivedEnd else { throw violation("DATA after END on stream \(id)") }
            let count = frame.payload.count
            guard count <= stream.receiveWindow else {
                throw violation("stream \(id) sent \(count) bytes with \(stream.receiveWindow) bytes of credit left")
            }
            let limit = stream.isLocal ? limits.maxResponseBody : limits.maxRequestBody
            guard stream.received.count + count <= limit else {
                throw violation("\(stream.isLocal ? "response" : "request") on stream \(id) exceeds \(limit) bytes")
            }
            if !stream.isLocal {
                requestBytesHeld += count
                guard requestBytesHeld <= limits.maxBufferedRequestBytes else {
                    throw violation("unanswered requests exceed \(limits.maxBufferedRequestBytes) bytes")
                }
            }
            stream.received.append(contentsOf: frame.payload)
            stream.receiveWindow -= count
            stream.unacknowledged += count
            if stream.unacknowledged >= limits.initialWindow / 2, !creditHeld, !limits.withholdCredit {
                grantCredit(stream)
                pump()
            }
        case .end:
            guard let stream = try inboundStream(frame) else { return }
            guard !stream.receivedEnd, frame.payload.isEmpty else { throw violation("malformed or repeated END on stream \(id)") }
            stream.receivedEnd = true
            let body = stream.received
            stream.received = []
            if stream.isLocal {
                finishLocal(stream, .success(body))
            } else {
                enqueueRequest(stream: id, body: body)
            }
        case .error:
            guard isLocalParity(id) else { throw violation("ERROR on stream \(id), which the peer opened") }
            guard let stream = try inboundStream(frame) else { return }
            finishLocal(stream, .failure(SyncError.remote(frame.text)))
        case .credit:
            guard id != 0 else { throw violation("CREDIT on the control stream") }
            let increment = try frame.creditIncrement()
            guard let stream = streams[id] else {
                guard wasOpened(id) else { throw violation("CREDIT for stream \(id), which was never opened") }
                return
            }
            guard increment <= UInt64(limits.maxWindow - stream.sendCredit) else {
                throw violation("credit overflow on stream \(id): \(stream.sendCredit) + \(increment) exceeds \(limits.maxWindow)")
            }
            stream.sendCredit += Int(increment)
            schedule(stream)
            pump()
        case .reset:
            guard id != 0, !isLocalParity(id), id <= lastRemoteID else {
                throw violation("RESET of stream \(id), which the peer never opened")
            }
            if let stream = streams.removeValue(forKey: id) {
                remoteOpen -= 1
                requestBytesHeld -= stream.received.count
                stream.sendEnd = nil
                stream.sendBody = []
            }
            if let i = waitingRequests.firstIndex(where: { $0.stream == id }) {  // never admitted: drop it now
                requestBytesHeld -= waitingRequests[i].body.count
                waitingRequests.remove(at: i)
            }
            // A response still being built keeps its budget until its handler returns.
            if !building.contains(id) { releaseResponse(stream: id) }
        }
    }

    private func grantCredit(_ stream: MuxStream) {
        guard stream.unacknowledged > 0 else { return }
        control.append(.credit(stream: stream.id, UInt64(stream.unacknowledged)))
        stream.receiveWindow += stream.unacknowledged
        stream.unacknowledged = 0
    }

    /// Stops or resumes returning credit (a stand-in for a consumer that stalls; tests use it to
    /// hold a large transfer in flight deterministically).
    func holdCredit(_ held: Bool) {
        assertOnEventLoop()
        creditHeld = held
        guard !held, !limits.withholdCredit else { return }
        for stream in streams.values { grantCredit(stream) }
        pump()
    }

    private func wasOpened(_ id: UInt64) -> Bool {
        id != 0 && (isLocalParity(id) ? id < nextLocalID : id <= lastRemoteID)
    }

    /// The stream a DATA/END/ERROR frame belongs to; nil for late frames on a stream this side
    /// already abandoned (deadline, cancellation).
    private func inboundStream(_ frame: MuxFrame) throws -> MuxStream? {
        let id = frame.stream
        if let stream = streams[id] { return stream }
        if isLocalParity(id), wasOpened(id) { return nil }
        throw violation("\(frame.kind) on stream \(id), which is \(wasOpened(id) ? "finished" : "not open")")
    }

    // MARK: Local requests

    func startRequest(
        ticket: RequestTicket, body: [UInt8], deadline seconds: Double,
        continuation: CheckedContinuation<[UInt8], any Error>
    ) {
        assertOnEventLoop()
        guard case .open = phase, let context else { return continuation.resume(throwing: SyncError.closed) }
        guard !ticket.cancelled.load(ordering: .acquiring) else { return continuation.resume(throwing: CancellationError()) }
        let nanos = seconds.isFinite ? Int64(max(0, min(seconds, 86_400)) * 1e9) : 86_400_000_000_000
        let timer = context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) { [self] in
            abandon(ticket: ticket, error: SyncError.timeout, reason: "deadline")
        }
        pending.append(PendingRequest(ticket: ticket, body: body, continuation: continuation, deadline: timer))
        openPending()
    }

    /// Opens waiting requests while stream slots are free.
    func openPending() {
        while localOpen < limits.maxOpenStreams, !pending.isEmpty {
            let request = pending.removeFirst()
            let id = nextLocalID
            nextLocalID += 2
            let stream = MuxStream(id: id, isLocal: true, window: limits.initialWindow)
            stream.ticket = request.ticket
            stream.continuation = request.continuation
            stream.deadline = request.deadline
            stream.sendBody = request.body
            stream.sendEnd = MuxFrame(.end, stream: id)
            streams[id] = stream
            ticketStreams[request.ticket.id] = id
            localOpen += 1
            control.append(MuxFrame(.open, stream: id))
            schedule(stream)
        }
        pump()
    }

    /// Deadline or cancellation: fail the caller and reset the stream if it is open.
    func abandon(ticket: RequestTicket, error: any Error, reason: String) {
        assertOnEventLoop()
        if let index = pending.firstIndex(where: { $0.ticket === ticket }) {
            let request = pending.remove(at: index)
            request.deadline.cancel()
            request.continuation.resume(throwing: error)
            return
        }
        guard let id = ticketStreams[ticket.id], let stream = streams[id] else { return }
        if case .open = phase { control.append(MuxFrame.text(.reset, stream: id, reason)) }
        finishLocal(stream, .failure(error))
    }

    private func finishLocal(_ stream: MuxStream, _ result: Result<[UInt8], any Error>) {
        streams[stream.id] = nil
        if let ticket = stream.ticket { ticketStreams[ticket.id] = nil }
        localOpen -= 1
        stream.deadline?.cancel()
        stream.sendBody = []
        stream.sendEnd = nil
        stream.continuation?.resume(with: result)
        stream.continuation = nil
        openPending()
    }

    // MARK: Responses and notifications

    func respond(stream id: UInt64, _ result: Result<[UInt8], any Error>) {
        assertOnEventLoop()
        building.remove(id)
        guard case .open = phase, let stream = streams[id], !stream.isLocal else { return releaseResponse(stream: id) }
        if case .success(let body) = result, body.count <= limits.maxResponseBody {
            resizeResponse(stream: id, to: body.count)
        } else {
            resizeResponse(stream: id, to: 0)
        }
        switch result {
        case .success(let body) where body.count > limits.maxResponseBody:
            logger.warning(
                "response on stream \(id) to \(connection?.remote.short ?? "?") is \(body.count) bytes, over \(limits.maxResponseBody); sending an error"
            )
            stream.sendEnd = MuxFrame.text(.error, stream: id, "response of \(body.count) bytes exceeds \(limits.maxResponseBody)")
        case .success(let body):
            stream.sendBody = body
            stream.sendEnd = MuxFrame(.end, stream: id)
        case .failure(let error):
            stream.sendEnd = MuxFrame.text(.error, stream: id, "\(error)")
        }
        schedule(stream)
        pump()
    }

    func enqueueNotification(_ body: [UInt8]) throws {
        assertOnEventLoop()
        guard case .open = phase else { throw SyncError.closed }
        let chunk = limits.schedulerQuantum
        var offset = 0
        repeat {
            let end = min(body.count, offset + chunk)
            notifications.append(MuxFrame(end == body.count ? .notify : .notifyPart, stream: 0, payload: body[offset..<end]))
            offset = end
        } while offset < body.count
        pump()
    }
}
