import ArkCore
import NIOCore
import NIOHTTP1

/// Single-object operations: PUT, GET (whole or a byte range), HEAD, DELETE, ListObjectsV2.
extension S3Client {
    /// Stores `bytes` as `key` (the payload's SHA-256 is signed, so the server checks it).
    package func putObject(key: String, bytes: ByteBuffer) throws {
        _ = try send(.PUT, key: key, body: bytes, operation: "PUT")
    }

    /// The whole object, or nil when there is no such key.
    package func getObject(key: String) throws -> ByteBuffer? {
        let response = try send(.GET, key: key, operation: "GET", accept: [404])
        if response.status == 404 {
            let code = S3XML(response.text).first("Code")
            guard code == nil || code == "NoSuchKey" else {
                throw ArkError.s3(
                    operation: "GET", target: "\(configuration.bucket)/\(key)",
                    failure: .server(status: 404, code: code, message: S3XML(response.text).first("Message")), attempts: 1,
                    location: configuration.location)
            }
            return nil
        }
        return response.body ?? ByteBuffer()
    }

    /// The bytes from `offset` on, in consecutive parts of `lengths` bytes (a run of records
    /// read with one ranged GET), each received straight into its own array (`RangeCollector`).
    /// Fewer or shorter parts only at the end of the object; an answer longer than asked for
    /// is an error. Throws `.missing` when there is no such key.
    package func getRange(key: String, offset: UInt64, lengths: [Int]) throws -> [[UInt8]] {
        let length = lengths.reduce(0, +)
        if length == 0 { return [] }
        let last = offset + UInt64(length) - 1
        let response = try send(
            .GET, key: key, headers: [("Range", "bytes=\(offset)-\(last)")], expecting: length, operation: "GET", accept: [416],
            collect: (offset, lengths))
        if response.status == 416 { return [] }  // the range starts at or past the end
        // A 200 is a server that ignored Range: the collector kept the part asked for. A 206
        // for other bytes than those asked for is refused as `.corrupt` (not a transient
        // failure: a run read together falls back to reading its records one by one).
        if response.status == 206, let start = response.rangeStart, start != offset {
            throw ArkError(
                .corrupt, "S3 GET \(configuration.bucket)/\(key) answered bytes from \(start), not from \(offset) as asked",
                context: configuration.location)
        }
        if response.status == 206, response.extra > 0 {
            throw ArkError(
                .corrupt, "S3 GET \(configuration.bucket)/\(key) answered \(response.extra) bytes more than the \(length) asked for",
                context: configuration.location)
        }
        return response.parts
    }

    /// The object's size, or nil when there is no such key.
    package func headObject(key: String) throws -> UInt64? {
        let response = try send(.HEAD, key: key, operation: "HEAD", accept: [404])
        if response.status == 404 { return nil }
        guard let length = response.headers.first(name: "Content-Length").flatMap(UInt64.init) else {
            throw ArkError(.io, "S3 HEAD \(configuration.bucket)/\(key) answered without a Content-Length", context: configuration.location)
        }
        return length
    }

    /// Deletes `key`; a key that does not exist is not an error.
    package func deleteObject(key: String) throws {
        _ = try send(.DELETE, key: key, operation: "DELETE", accept: [404])
    }

    /// One page of ListObjectsV2 under `prefix` (full keys, bucket-relative).
    package func listPage(prefix: String, continuationToken: String? = nil, maxKeys: Int = 1000, policy: S3RetryPolicy? = nil)
        throws -> S3ListPage
    {
        var query: [(name: String, value: String)] = [("list-type", "2"), ("max-keys", String(maxKeys))]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try send(.GET, key: nil, query: query, operation: "LIST", policy: policy)
        return S3ListPage(xml: response.text)
    }

    /// Every object under `prefix`, in key order, across as many pages as it takes.
    package func listAll(prefix: String, pageSize: Int = 1000) throws -> [(key: String, size: UInt64)] {
        var out: [(key: String, size: UInt64)] = []
        var token: String?
        repeat {
            let page = try listPage(prefix: prefix, continuationToken: token, maxKeys: pageSize)
            out += page.objects
            token = page.nextContinuationToken
        } while token != nil
        return out
    }
}
