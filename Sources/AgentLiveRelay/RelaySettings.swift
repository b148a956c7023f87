import AgentLiveConnInfo
import Foundation

/// Every environment variable the relay reads, with its default: what
/// `Relay.Configuration(environment:)` reads and `agentlive-relay --help` lists.
public enum RelaySettings {
    public enum Name {
        public static let databaseURL = "AGENTLIVE_DATABASE_URL"
        public static let daemonTimeout = "AGENTLIVE_DAEMON_TIMEOUT_SECONDS"
        public static let reapInterval = "AGENTLIVE_REAP_INTERVAL_SECONDS"
        public static let queueFrames = "AGENTLIVE_WS_QUEUE_FRAMES"
        public static let queueBytes = "AGENTLIVE_WS_QUEUE_BYTES"
        public static let queryConnections = "AGENTLIVE_RELAY_DB_CONNECTIONS"
        public static let logLevel = "AGENTLIVE_LOG_LEVEL"
        public static let publicOrigin = "AGENTLIVE_PUBLIC_ORIGIN"
    }

    public struct Variable: Sendable {
        public var name: String
        public var defaultValue: String
        public var meaning: String
    }

    public static var variables: [Variable] {
        let defaults = Relay.Configuration(database: placeholderDatabase)
        return [
            Variable(
                name: Name.databaseURL, defaultValue: "empty",
                meaning: "libpq connection string or postgresql:// URI, read by libpq; several hosts "
                    + "(host=a,b port=5432,5433 target_session_attrs=read-write) are tried in order. "
                    + "What it leaves out comes from libpq's PG* variables, else its defaults: "
                    + "socket folder \(LibPQ.socketDirectory), port 5432, the OS user, database = user"),
            Variable(name: Name.daemonTimeout, defaultValue: "\(defaults.daemonTimeoutSeconds)",
                     meaning: "a daemon silent this long loses its tasks (failed, \"daemon lost\")"),
            Variable(name: Name.reapInterval, defaultValue: "\(defaults.reapInterval.components.seconds)",
                     meaning: "seconds between two checks for lost daemons"),
            Variable(name: Name.queueFrames, defaultValue: "\(defaults.outboxLimits.frames)",
                     meaning: "frames queued for one client before it is closed with 1013"),
            Variable(name: Name.queueBytes, defaultValue: "\(defaults.outboxLimits.bytes)",
                     meaning: "bytes queued for one client before it is closed with 1013"),
            Variable(name: Name.queryConnections, defaultValue: "\(defaults.queryConnections)",
                     meaning: "database connections for queries (plus one for LISTEN)"),
            Variable(name: Name.publicOrigin, defaultValue: "unset",
                     meaning: "the page's origin (https://agentlive.example.com), as for the API: a WebSocket "
                        + "upgrade that carries the session cookie from another Origin is refused with 403. "
                        + "Unset: the request's scheme (X-Forwarded-Proto) and Host header"),
            Variable(name: Name.logLevel, defaultValue: "info",
                     meaning: "trace, debug, info, notice, warning, error or critical"),
        ]
    }

    /// libpq's variables that fill in what the connection string leaves out.
    public static let libpqVariables = [
        "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGTARGETSESSIONATTRS",
        "PGCONNECT_TIMEOUT", "PGAPPNAME", "PGSSLMODE",
    ]

    /// The environment section of `--help`, wrapped here (the help printer wraps
    /// long lines without indenting them).
    public static var help: String {
        let lines = variables.map { variable in
            "\(variable.name) (default: \(variable.defaultValue))\n" + wrapped(variable.meaning, indent: "  ")
        }
        return "Environment:\n" + lines.joined(separator: "\n") + "\n"
            + wrapped("libpq also reads " + libpqVariables.joined(separator: ", ") + ".", indent: "")
    }

    static func wrapped(_ text: String, indent: String, width: Int = 78) -> String {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count, line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    private static var placeholderDatabase: ConnectionOptions {
        // Only the other defaults are read from it.
        try! ConnectionOptions(given: ["user": "-"], defaults: [:], socketDirectory: "/")
    }
}
