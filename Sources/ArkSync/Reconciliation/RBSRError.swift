/// Why reconciliation stopped. A peer that triggers any of these is misbehaving (or buggy):
/// drop the session; nothing local has changed.
package enum RBSRError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The message does not decode under the strict rules (bounds, counts, modes, trailing bytes).
    case malformed(String)
    /// A hostile-peer limit was exceeded (rounds, ids, ranges, message size).
    case limitExceeded(String)
    /// The session was used out of order (receive after completion, initiate twice).
    case wrongState(String)
    /// The local item set refused an item (generation out of range).
    case invalidItem(String)

    package var description: String {
        switch self {
        case .malformed(let what): "reconciliation: malformed message: \(what)"
        case .limitExceeded(let what): "reconciliation: limit exceeded: \(what)"
        case .wrongState(let what): "reconciliation: \(what)"
        case .invalidItem(let what): "reconciliation: invalid item: \(what)"
        }
    }
}
