import AgentLiveConnInfo

/// What a server says about itself after connecting, for `target_session_attrs`.
struct ServerState: Equatable, Sendable {
    var inRecovery: Bool
    var readOnly: Bool
}

/// No server of the connection string would do: what each one answered.
struct DatabaseUnreachable: Error, CustomStringConvertible, CustomDebugStringConvertible {
    var attempts: [(endpoint: DatabaseEndpoint, reason: String)]

    var description: String {
        "cannot connect to the database: " + attempts.map { "\($0.endpoint): \($0.reason)" }.joined(separator: "; ")
    }

    var debugDescription: String { description }
}

/// libpq's walk over the hosts of a connection string: in order, the first that
/// answers and, when `target_session_attrs` asks, is in the wanted state; for
/// `prefer-standby` a second walk takes any server. Connections that do not suit
/// are closed. Generic over the connection so it is tested without a server.
func firstSuitable<Connection: Sendable>(
    _ endpoints: [DatabaseEndpoint], target: TargetSessionAttributes,
    open: (DatabaseEndpoint) async throws -> Connection,
    state: (Connection) async throws -> ServerState,
    close: (Connection) async -> Void
) async throws(DatabaseUnreachable) -> (Connection, DatabaseEndpoint) {
    var attempts: [(endpoint: DatabaseEndpoint, reason: String)] = []
    for pass in target.passes {
        for endpoint in endpoints {
            let connection: Connection
            do {
                connection = try await open(endpoint)
            } catch {
                attempts.append((endpoint, describe(error)))
                continue
            }
            guard pass.needsServerState else { return (connection, endpoint) }
            do {
                let server = try await state(connection)
                if pass.accepts(inRecovery: server.inRecovery, readOnly: server.readOnly) { return (connection, endpoint) }
                let what = server.inRecovery ? "in recovery" : server.readOnly ? "read-only" : "not in recovery"
                attempts.append((endpoint, "server is \(what) (target_session_attrs=\(pass.rawValue))"))
            } catch {
                attempts.append((endpoint, describe(error)))
            }
            await close(connection)
        }
    }
    throw DatabaseUnreachable(attempts: attempts)
}
