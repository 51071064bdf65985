/// The one error type of ArkCore: a stable code, a one-line message, and optional context
/// (object id, path, store location). `description` is what the CLI prints.
public struct ArkError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidArgument = "invalid-argument"
        case notFound = "not-found"
        case ambiguous = "ambiguous"
        case corrupt = "corrupt"
        case missing = "missing"
        case malformed = "malformed"
        case io = "io"
        case config = "config"
        case busy = "busy"
        case unsupported = "unsupported"
    }

    public var code: Code
    public var message: String
    public var context: String?

    public init(_ code: Code, _ message: String, context: String? = nil) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String {
        if let context { return "\(message) (\(context))" }
        return message
    }
}
