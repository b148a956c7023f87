/// What can go wrong talking to PostgreSQL, split by what the caller can do about it.
public enum PostgresError: Error, Equatable, CustomStringConvertible {
    /// The server cannot be reached or the connection broke: retry later (HTTP 503).
    case connection(String)
    /// The server answered with an error.
    case server(sqlState: String, message: String, detail: String?)

    public var description: String {
        switch self {
        case .connection(let message): return "connection: \(message)"
        case .server(let state, let message, let detail):
            return "\(state): \(message)" + (detail.map { " (\($0))" } ?? "")
        }
    }
}
