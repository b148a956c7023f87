import Logging

/// Wraps a log handler so that a logged value can never forge a log line or
/// drive the terminal: the message and every metadata value pass through
/// `escapedForLog`. Issue titles, task ids, server error messages and agent
/// output all reach the log, and all come from outside.
public struct EscapingLogHandler: LogHandler {
    public var wrapped: any LogHandler

    public init(_ wrapped: any LogHandler) {
        self.wrapped = wrapped
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(Self.escaped) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key.escapedForLog] = newValue.map(Self.escaped) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(event.message.description.escapedForLog)"
        event.metadata = event.metadata.map { Dictionary($0.map { ($0.key.escapedForLog, Self.escaped($0.value)) }, uniquingKeysWith: { a, _ in a }) }
        wrapped.log(event: event)
    }

    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(text.escapedForLog)
        case .stringConvertible(let convertible): .string(convertible.description.escapedForLog)
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let members):
            .dictionary(Dictionary(members.map { ($0.key.escapedForLog, escaped($0.value)) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}

extension String {
    /// Control characters (C0, DEL, C1: line breaks, ESC…) and the Unicode line and
    /// paragraph separators as `\n`, `\r`, `\t` or `\u{…}`; a backslash doubled, so
    /// an escape in the log always means one was made.
    public var escapedForLog: String {
        guard unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" || $0 == "\\" })
        else { return self }
        var result = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}":
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
