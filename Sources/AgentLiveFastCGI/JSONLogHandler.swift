import CFastCGI
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One JSON object per line on standard error, for log shippers
/// (AGENTLIVE_LOG_FORMAT=json): timestamp (UTC, milliseconds), level, label,
/// message, metadata (an object of strings; nested lists and dictionaries as
/// their text).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        write(Self.line(time: Self.now(), level: event.level, label: label, message: "\(event.message)", metadata: merged))
    }

    /// The line for one event (with its newline).
    static func line(time: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var out = "{\"timestamp\":\(quoted(time)),\"level\":\(quoted(level.rawValue)),\"label\":\(quoted(label)),"
        out += "\"message\":\(quoted(message)),\"metadata\":{"
        out += metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted("\($0.value)"))" }.joined(separator: ",")
        return out + "}}\n"
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Now, as 2026-01-31T23:59:59.123Z.
    static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return timestamp(seconds: time.tv_sec, milliseconds: Int(time.tv_nsec / 1_000_000))
    }

    static func timestamp(seconds: time_t, milliseconds: Int) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }

    /// One write(2) per line: on a pipe (systemd's journal), lines of up to 4 KiB
    /// (PIPE_BUF) from the pool's processes never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var line = line
        line.withUTF8 { bytes in
            var written = 0
            while written < bytes.count {
                let count = Glibc.write(2, bytes.baseAddress! + written, bytes.count - written)
                guard count > 0 else { return }
                written += count
            }
        }
    }
}
