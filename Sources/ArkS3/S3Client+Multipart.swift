import ArkCore
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// Uploading a file: one PUT up to `singlePutLimit` (or `partSize` if larger), else a multipart
/// upload whose parts are read from the file (`pread`) by `uploadConcurrency` workers, each
/// holding one part in memory at a time, so memory stays at `partSize * uploadConcurrency`
/// whatever the file's size. A failed upload is aborted so the bucket keeps no orphaned parts.
extension S3Client {
    package func uploadFile(key: String, path: String, length: UInt64) throws {
        let file = try ReadOnlyFile(path: path)
        let partSize = UInt64(configuration.partSize)
        if length <= max(partSize, UInt64(configuration.singlePutLimit)) {
            try file.require(length: length)
            _ = try send(.PUT, key: key, file: FileBody(file: file, length: Int(length)), operation: "PUT")
            return
        }
        let uploadID = try createMultipartUpload(key: key)
        do {
            let count = Int((length + partSize - 1) / partSize)
            let etags = try uploadParts(key: key, uploadID: uploadID, file: file, length: length, count: count)
            try completeMultipartUpload(key: key, uploadID: uploadID, etags: etags)
        } catch {
            try? abortMultipartUpload(key: key, uploadID: uploadID)
            throw error
        }
    }

    package func createMultipartUpload(key: String) throws -> String {
        let response = try send(.POST, key: key, query: [("uploads", "")], operation: "CREATE MULTIPART UPLOAD")
        guard let id = S3XML(response.text).first("UploadId"), !id.isEmpty else {
            throw ArkError(
                .io, "S3 CREATE MULTIPART UPLOAD \(configuration.bucket)/\(key) answered without an UploadId",
                context: configuration.location)
        }
        return id
    }

    /// Uploads part `number` (from 1) and returns its ETag.
    package func uploadPart(key: String, uploadID: String, number: Int, bytes: ByteBuffer) throws -> String {
        let response = try send(
            .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: bytes, operation: "UPLOAD PART \(number)"
        )
        guard let etag = response.headers.first(name: "ETag") else {
            throw ArkError(
                .io, "S3 UPLOAD PART \(number) of \(configuration.bucket)/\(key) answered without an ETag", context: configuration.location)
        }
        return etag
    }

    package func completeMultipartUpload(key: String, uploadID: String, etags: [String]) throws {
        var xml = "<CompleteMultipartUpload>"
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(etag.replacingOccurrences(of: "\"", with: "&quot;"))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let response = try send(
            .POST, key: key, query: [("uploadId", uploadID)], body: ByteBuffer(string: xml), operation: "COMPLETE MULTIPART UPLOAD")
        // S3 may answer 200 and put the error in the body when completing takes long.
        let doc = S3XML(response.text)
        if let code = doc.first("Code"), response.text.contains("<Error") {
            let failure = S3Failure.server(status: response.status, code: code, message: doc.first("Message"))
            throw ArkError.s3(
                operation: "COMPLETE MULTIPART UPLOAD", target: "\(configuration.bucket)/\(key)", failure: failure, attempts: 1,
                location: configuration.location)
        }
    }

    package func abortMultipartUpload(key: String, uploadID: String) throws {
        _ = try send(.DELETE, key: key, query: [("uploadId", uploadID)], operation: "ABORT MULTIPART UPLOAD", accept: [404])
    }

    /// The parts' ETags in order; workers take part numbers from a shared counter.
    private func uploadParts(key: String, uploadID: String, file: ReadOnlyFile, length: UInt64, count: Int) throws -> [String] {
        let state = PartState(count: count)
        let partSize = UInt64(configuration.partSize)
        // On the client's part pool, not `concurrentPerform`: that runs one worker per core, so
        // on two cores only two parts were in flight while each waited on the network.
        let group = DispatchGroup()
        for _ in 0..<min(configuration.uploadConcurrency, count) {
            group.enter()
            partPool.submit { [self] in
                defer { group.leave() }
                while let index = state.next() {
                    do {
                        let offset = UInt64(index) * partSize
                        let bytes = try file.read(offset: offset, length: Int(min(partSize, length - offset)))
                        state.finish(index, etag: try uploadPart(key: key, uploadID: uploadID, number: index + 1, bytes: bytes))
                    } catch {
                        state.fail(error)
                    }
                }
            }
        }
        group.wait()
        return try state.result()
    }
}

/// The parts of one multipart upload: which is next, the ETags so far, the first failure.
private final class PartState: @unchecked Sendable {  // @unchecked: every field is read and written under `lock`
    private let lock = NSLock()
    private var nextIndex = 0
    private var etags: [String?]
    private var failure: (any Error)?

    init(count: Int) { etags = Array(repeating: nil, count: count) }

    /// The next part to upload, or nil when all are taken or one failed.
    func next() -> Int? {
        lock.withLock {
            guard failure == nil, nextIndex < etags.count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    func finish(_ index: Int, etag: String) { lock.withLock { etags[index] = etag } }
    func fail(_ error: any Error) { lock.withLock { if failure == nil { failure = error } } }

    func result() throws -> [String] {
        try lock.withLock {
            if let failure { throw failure }
            return etags.map { $0! }
        }
    }
}
