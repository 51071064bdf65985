/// Reconciliation parameters and the bounds that protect against a hostile peer.
package struct RBSRConfig: Sendable {
    /// Maximum number of parts a mismatched range is split into (B).
    package var branching = 16
    /// Ranges with at most this many items are sent as id lists (T, `sync.enumerate_threshold`).
    package var enumerateThreshold = 8
    /// Largest message this side sends or accepts, in bytes. The default fits one Noise
    /// transport message with room for a channel header.
    package var frameLimit = 65_000
    /// Maximum messages received in one session. `nil`: `2⌈log_B n⌉ + 4` plus the rounds needed
    /// to move `maxTotalIDs` ids through frames of `frameLimit` bytes, computed per session.
    package var maxRounds: Int?
    /// Maximum ids in one IdList (beyond what fits a frame anyway).
    package var maxIDsPerList: Int?
    /// Maximum ranges in one message.
    package var maxRangesPerMessage = 4096
    /// Maximum ids received over a whole session (bounds the `need` set's memory).
    package var maxTotalIDs = 1_000_000

    package init() {}

    var idsPerListLimit: Int { maxIDsPerList ?? frameLimit / 32 }

    func roundLimit(localCount: Int) -> Int {
        if let maxRounds { return maxRounds }
        var levels = 0, n = max(localCount, 1)
        while n > 1 { n = (n + branching - 1) / branching; levels += 1 }
        let transfer = (maxTotalIDs * 32 + frameLimit - 1) / max(frameLimit - 64, 1)
        return 2 * levels + 4 + 2 * transfer
    }

    func validate() throws {
        // The first range of any message must fit, or a session could make no progress: that
        // is at most an IdList of T ids (a split bucket) plus a flushed Skip and the reserve.
        guard branching >= 2, enumerateThreshold >= 1, maxRangesPerMessage >= 8,
            frameLimit >= enumerateThreshold * 32 + 256, idsPerListLimit >= enumerateThreshold
        else {
            throw RBSRError.wrongState("invalid configuration: need B >= 2, T >= 1, frame limit >= 32T + 256, id list limit >= T")
        }
    }
}
