import ArkCore
import NIOCore

/// Response budget: a complete request goes to the handler only while the response bytes this
/// connection holds (built or being built, not yet sent) are under its budget, and its peer's
/// under the peer's (see `ConnectionGate`). It reserves `responseReservation` bytes while it is
/// built, then its actual size, released as its last byte is sent (or the stream is reset or
/// the connection closes). So a connection holds at most its budget plus one response, and a
/// peer that grants no credit gets no more than that built for it: the rest of its requests
/// wait as they arrived, unprocessed. A small request still runs beside a stalled large
/// response as long as the budget is not used up.
extension PeerMultiplexer {
    struct WaitingRequest {
        let stream: UInt64
        let body: [UInt8]
    }

    func enqueueRequest(stream id: UInt64, body: [UInt8]) {
        waitingRequests.append(WaitingRequest(stream: id, body: body))
        admitRequests()
    }

    /// Dispatches waiting requests, oldest first, while the budgets allow.
    func admitRequests() {
        assertOnEventLoop()
        guard case .open = phase, let peer = connection?.remote else { return }
        let reservation = limits.responseReservation
        while let next = waitingRequests.first {
            guard streams[next.stream] != nil else {  // reset while it waited
                requestBytesHeld -= next.body.count
                waitingRequests.removeFirst()
                continue
            }
            guard responseHeld < limits.responseBytesPerConnection else { return }
            guard !awaitingPeerBudget else { return }
            let loop = context?.eventLoop
            let admitted = gate.reserve(reservation, peer: peer) { [self] in
                loop?.execute { [self] in
                    assertOnEventLoop()
                    awaitingPeerBudget = false
                    admitRequests()
                }
            }
            guard admitted else {
                awaitingPeerBudget = true
                return
            }
            waitingRequests.removeFirst()
            requestBytesHeld -= next.body.count
            heldResponses[next.stream] = reservation
            building.insert(next.stream)
            responseHeld += reservation
            dispatchRequest(stream: next.stream, body: next.body)
        }
    }

    /// The response on `id` is built: its reservation becomes its size.
    func resizeResponse(stream id: UInt64, to bytes: Int) {
        guard let held = heldResponses[id], let peer = connection?.remote else { return }
        heldResponses[id] = bytes
        responseHeld += bytes - held
        gate.release(held - bytes, peer: peer)
    }

    /// The response on `id` is sent, reset or abandoned: its bytes go back to the budgets.
    func releaseResponse(stream id: UInt64) {
        guard let held = heldResponses.removeValue(forKey: id) else { return }
        responseHeld -= held
        if let peer = budgetPeer { gate.release(held, peer: peer) }
        admitRequests()
    }

    /// Teardown: everything this connection held goes back to its peer's budget.
    /// Responses still being built keep their share until their handler finishes (`respond`
    /// releases it then).
    func releaseAllResponses() {
        waitingRequests = []
        requestBytesHeld = 0
        let done = heldResponses.filter { !building.contains($0.key) }
        let held = done.values.reduce(0, +)
        for id in done.keys { heldResponses[id] = nil }
        responseHeld -= held
        if let peer = budgetPeer { gate.release(held, peer: peer) }
    }
}
