import Logging

/// Log lines name repos, heads, sources and peers that others chose: the message is escaped
/// like all other text output (`Terminal.escaped`), on one line, before the standard handler
/// writes it.
struct EscapingLogHandler: LogHandler {
    var base: StreamLogHandler

    func log(event: LogEvent) {
        var e = event
        e.message = "\(Terminal.escaped(event.message.description))"
        base.log(event: e)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }
}
