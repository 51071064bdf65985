import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Receives the body of a ranged GET straight into arrays of the sizes asked for: one per
/// record of a run of records read together, each allocated once at its final size. The
/// default accumulator grew a ByteBuffer (copying it as it doubled), which was then copied
/// into an array and sliced into records: three more copies of every byte a cold read
/// fetched, and fresh pages to fault in for each.
///
/// A 206 answer fills the parts in order. A 200 (a server that ignored Range and sent the
/// whole object) skips the bytes before `offset` first. Any other status keeps its body (its
/// first 64 KiB) as text for the error. Bytes past the parts are counted, not kept, and the
/// start `Content-Range` gives is kept, so `S3Client.getRange` refuses an answer that runs
/// long or starts elsewhere without holding it.
final class RangeCollector: HTTPClientResponseDelegate {
    struct Collected: Sendable {
        var status: Int
        var headers: HTTPHeaders
        /// The parts filled (the last may be short when the object ends early); empty for a
        /// status other than 200 or 206.
        var parts: [[UInt8]]
        /// Body bytes past the parts, counted.
        var extra: Int
        /// The body of an answer that is not 200 or 206 (an S3 error document), its first
        /// 64 KiB.
        var other: ByteBuffer?
        /// Where a 206 answer's `Content-Range` says its bytes start.
        var rangeStart: UInt64?
    }
    typealias Response = Collected

    private struct State {
        var collected = Collected(status: 0, headers: [:], parts: [], extra: 0, other: nil)
        var skip: UInt64 = 0
        var collecting = false
    }
    private let lengths: [Int]
    private let offset: UInt64
    private let state = Mutex(State())

    init(offset: UInt64, lengths: [Int]) {
        self.offset = offset
        self.lengths = lengths
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock { s in
            s.collected.status = Int(head.status.code)
            s.collected.headers = head.headers
            // "bytes first-last/size"
            if let range = head.headers.first(name: "Content-Range"), range.hasPrefix("bytes "),
                let dash = range.firstIndex(of: "-")
            {
                s.collected.rangeStart = UInt64(range[range.index(range.startIndex, offsetBy: 6)..<dash])
            }
            s.collecting = head.status.code == 206 || head.status.code == 200
            s.skip = head.status.code == 200 ? offset : 0
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        state.withLock { s in
            guard s.collecting else {
                var b = buffer
                if s.collected.other == nil {
                    s.collected.other = b
                } else if s.collected.other!.readableBytes < 64 << 10 {
                    s.collected.other!.writeBuffer(&b)
                }
                return
            }
            buffer.withUnsafeReadableBytes { raw in
                var at = 0
                if s.skip > 0 {
                    let n = Int(min(s.skip, UInt64(raw.count)))
                    s.skip -= UInt64(n)
                    at = n
                }
                while at < raw.count {
                    var last = s.collected.parts.count - 1
                    if last < 0 || s.collected.parts[last].count == lengths[last] {
                        guard s.collected.parts.count < lengths.count else {
                            s.collected.extra += raw.count - at
                            return
                        }
                        s.collected.parts.append([])
                        last += 1
                        s.collected.parts[last].reserveCapacity(lengths[last])
                    }
                    let n = min(raw.count - at, lengths[last] - s.collected.parts[last].count)
                    s.collected.parts[last].append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[at..<(at + n)]))
                    at += n
                }
            }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Response>, _ error: Error) {}

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        state.withLock { s in
            // Empty parts at the end take no byte to start: add them once the rest is whole.
            if s.collecting {
                while s.collected.parts.count < lengths.count, lengths[s.collected.parts.count] == 0,
                    s.collected.parts.last.map({ $0.count == lengths[s.collected.parts.count - 1] }) ?? true
                {
                    s.collected.parts.append([])
                }
            }
            let done = s.collected
            // The state's reference goes, so the caller's arrays are not copied on write.
            s.collected.parts = []
            return done
        }
    }
}
