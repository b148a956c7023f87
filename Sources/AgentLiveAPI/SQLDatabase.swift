import AgentLivePostgres
import HTTPTypes

/// The seam between the API and PostgreSQL: tests can stand in their own.
public protocol SQLDatabase: AnyObject {
    func query(_ sql: String, parameters: [PostgresParameter]) throws(PostgresError) -> PostgresRows
}

extension LibPQConnection: SQLDatabase {}

extension APIError {
    /// What a database failure means for the client. Errors raised on purpose by
    /// the SQL functions carry SQLSTATE 'AL' + HTTP status, the code as message and
    /// the sentence as detail (see api_error in sql/definitions/40_api.sql).
    init(_ error: PostgresError) {
        switch error {
        case .connection:
            self = .databaseUnavailable
        case .server(let state, let message, let detail) where state.hasPrefix("AL"):
            self.init(HTTPResponse.Status(code: Int(state.dropFirst(2)) ?? 500), message, detail ?? message)
        case .server(let state, let message, _) where state.hasPrefix("22"):
            self = .invalidValue("Invalid value: \(message).")
        case .server("23505", _, _):
            self.init(.conflict, "conflict", "The request conflicts with the current state; reload and retry.")
        case .server(let state, let message, _) where state.hasPrefix("23"):
            self = .invalidValue("Invalid value: \(message).")  // a check or foreign key constraint
        case .server(let state, _, _) where state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300":
            self = .databaseUnavailable
        case .server:
            self = .internalError
        }
    }
}
