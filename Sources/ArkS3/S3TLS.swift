import ArkCore
import Foundation
import NIOSSL

/// Trust for https endpoints: the system's roots, plus the CA certificates of `ca_file` for a
/// server with its own CA (a self-hosted Ceph or Swift). An endpoint whose certificate neither
/// trusts fails at once with one line saying so (no retries: waiting does not make it trusted).
package enum S3TLS {
    /// Why a `ca_file` cannot be used: `does not exist`, `is not readable`, `holds no PEM certificate`.
    package struct FileProblem: Error, Sendable, Equatable {
        package var reason: String
    }

    /// Checks that `path` is a readable file holding at least one PEM certificate.
    package static func checkCAFile(_ path: String) throws(FileProblem) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FileProblem(reason: "does not exist") }
        guard !isDirectory.boolValue else { throw FileProblem(reason: "is a directory, not a PEM file") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw FileProblem(reason: "is not readable") }
        let certificates: [NIOSSLCertificate]
        do { certificates = try NIOSSLCertificate.fromPEMFile(path) } catch {
            throw FileProblem(reason: "holds no PEM certificate it can read (-----BEGIN CERTIFICATE-----)")
        }
        guard !certificates.isEmpty else {
            throw FileProblem(reason: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
    }

    /// The client TLS configuration: system roots, and `caFile`'s certificates when given.
    static func clientConfiguration(caFile: String?) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.additionalTrustRoots = [.file(caFile)] }
        return tls
    }

    /// The handshake failed because the server's certificate is not trusted (unknown issuer,
    /// self-signed, expired, or not for this host): the detail, or nil for any other failure.
    static func untrustedDetail(_ error: any Error) -> String? {
        let text = String(describing: error)
        if text.contains("failedToValidateHostname") { return "it is not issued for this host" }
        for (needle, detail) in [
            ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"), ("certificate verify failed", "certificate verify failed"),
            ("unable to get local issuer certificate", "unknown issuer"), ("self signed certificate", "self-signed"),
            ("certificate has expired", "expired")
        ] where text.contains(needle) {
            return detail
        }
        return nil
    }

    /// `[store.s3] the certificate of https://host:port is not trusted (...): set ca_file ...`.
    static func untrustedMessage(endpoint: String, caFile: String?, detail: String) -> String {
        let fix =
            caFile.map { "neither the system's roots nor ca_file '\($0)' trust it" }
            ?? "set ca_file in [store.s3] to the PEM file of the CA that signed it"
        return "[store.s3] the TLS certificate of \(endpoint) is not trusted (\(detail)): \(fix)"
    }
}
