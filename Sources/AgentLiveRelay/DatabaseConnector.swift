import AgentLiveConnInfo
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Opens the relay's database connections from the connection string, as libpq
/// would: the first host that answers and suits `target_session_attrs`
/// (`firstSuitable`). Each call walks the list again, so a connection opened after
/// a failover reaches the server that is primary now.
struct DatabaseConnector: Sendable {
    var options: ConnectionOptions
    /// Sent as `application_name` when the string sets none (pg_stat_activity).
    var fallbackApplicationName = "agentlive-relay"

    func connect(id: Int, logger: Logger) async throws(DatabaseUnreachable) -> (PostgresConnection, DatabaseEndpoint) {
        try await firstSuitable(
            options.endpoints, target: options.targetSessionAttributes,
            open: { endpoint in
                try await PostgresConnection.connect(configuration: try configuration(for: endpoint), id: id, logger: logger)
            },
            state: { connection in
                let rows = try await connection.query(
                    "select pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'", logger: logger)
                for try await (recovery, readOnly) in rows.decode((Bool, Bool).self) {
                    return ServerState(inRecovery: recovery, readOnly: readOnly)
                }
                return ServerState(inRecovery: false, readOnly: false)
            },
            close: { connection in try? await connection.close() })
    }

    struct TLSUnsupported: Error, CustomStringConvertible {
        var sslMode: String
        var description: String { "sslmode=\(sslMode) asks for TLS, which the relay does not speak; use a Unix socket or sslmode=prefer" }
    }

    /// postgres-nio's settings for one endpoint. Over TCP the relay speaks without
    /// TLS: it takes sslmode disable, allow and prefer (libpq's default), and refuses
    /// the modes that require TLS rather than ignore them.
    func configuration(for endpoint: DatabaseEndpoint) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let path = endpoint.socketPath {
            configuration = .init(unixSocketPath: path, username: options.user, password: options.password, database: options.database)
        } else {
            guard ["disable", "allow", "prefer"].contains(options.sslMode) else { throw TLSUnsupported(sslMode: options.sslMode) }
            configuration = .init(host: endpoint.address ?? endpoint.host, port: endpoint.port, username: options.user,
                                  password: options.password, database: options.database, tls: .disable)
        }
        if let seconds = options.connectTimeoutSeconds { configuration.options.connectTimeout = .seconds(Int64(seconds)) }
        configuration.options.additionalStartupParameters = [("application_name", options.applicationName ?? fallbackApplicationName)]
        return configuration
    }
}

/// One line for a failed connection attempt: the server's message, or what the
/// network said (postgres-nio's own description hides both).
func describe(_ error: any Error) -> String {
    if let error = error as? PSQLError {
        if let message = error.serverInfo?[.message] {
            return (error.serverInfo?[.sqlState]).map { "\($0): \(message)" } ?? message
        }
        if let underlying = error.underlying { return describe(underlying) }
        return "\(error.code)"
    }
    if let error = error as? IOError {
        return String(cString: strerror(error.errnoCode))
    }
    if let error = error as? NIOConnectionError {
        return error.connectionErrors.map { "\($0.target): \($0.error)" }.first ?? "\(error)"
    }
    return "\(error)"
}
