import AgentLiveCredentials
import AgentLivePostgres
import AgentLiveWire
import HTTPTypes
import Logging

/// The REST API of the contract: a plain function from request to response over a
/// database connection, with no knowledge of FastCGI.
public final class AgentLiveAPI {
    let configuration: APIConfiguration
    let database: any SQLDatabase
    let logger: Logger
    private var outage = OutageLog()
    /// Counted for metrics (the worker's scoreboard slot); nothing by default.
    public var events = APIEvents()

    public init(configuration: APIConfiguration, database: any SQLDatabase, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.logger = logger
    }

    public func respond(to request: APIRequest) -> APIResponse {
        var response: APIResponse
        var route: Int?
        do {
            let match = try Router.match(method: request.head.method, path: request.path)
            route = Router.index(of: match.endpoint)
            try BrowserOrigin.check(request, publicOrigin: configuration.publicOrigin)
            response = try handle(match.endpoint, request, match.parameters)
        } catch {
            if error.status == .internalServerError {
                logger.error("internal error", metadata: ["path": "\(request.path)"])
            }
            response = error.response
        }
        if request.head.method == .head { response.body = [] }
        response.route = route
        return response
    }

    // MARK: - Database calls

    /// Calls the function and returns its single value (a JSON document).
    func call(_ function: SQLFunction, _ parameters: [PostgresParameter]) throws(APIError) -> String? {
        precondition(parameters.count == function.arguments.count, "\(function) takes \(function.arguments.count) arguments")
        return try query(function.callSQL, parameters).scalar
    }

    func call(_ function: SQLFunction, _ parameters: [String?]) throws(APIError) -> String? {
        try call(function, parameters.map(PostgresParameter.init))
    }

    func query(_ sql: String, _ parameters: [String?]) throws(APIError) -> PostgresRows {
        try query(sql, parameters.map(PostgresParameter.init))
    }

    func query(_ sql: String, _ parameters: [PostgresParameter]) throws(APIError) -> PostgresRows {
        do {
            let rows = try database.query(sql, parameters: parameters)
            if outage.isDown { log(outage.succeeded(at: .now)) }
            return rows
        } catch {
            let mapped = APIError(error)
            if mapped == .databaseUnavailable {
                events.databaseError(true)
                databaseUnavailable(error)
            } else if mapped.status.code >= 500 {
                events.databaseError(false)
                logger.error("database: \(error)")
            }
            throw mapped
        }
    }

    /// The database cannot be reached (at start-up or for a request): logged as
    /// an outage, not once per request.
    public func databaseUnavailable(_ error: any Error) {
        log(outage.failed("\(error)", at: .now))
    }

    private func log(_ line: OutageLog.Line?) {
        guard let line else { return }
        switch line {
        case .unavailable: logger.error("\(line.message)")
        case .stillUnavailable: logger.warning("\(line.message)")
        case .available: logger.notice("\(line.message)")
        }
    }

    /// A call whose result is the response document.
    func document(_ status: HTTPResponse.Status, _ function: SQLFunction, _ parameters: [PostgresParameter]) throws(APIError) -> APIResponse {
        guard let document = try call(function, parameters) else { throw .internalError }
        return .json(status, document)
    }

    func document(_ status: HTTPResponse.Status, _ function: SQLFunction, _ parameters: [String?]) throws(APIError) -> APIResponse {
        try document(status, function, parameters.map(PostgresParameter.init))
    }

    // MARK: - Credentials

    /// Who is calling, after their credentials checked out.
    enum Principal: Equatable {
        case user(id: String, tokenID: String, isSession: Bool)
        case daemon(workspaceID: String, tokenID: String)
    }

    func authenticate(_ request: APIRequest) throws(APIError) -> Principal {
        guard case .success(let token)? = PresentedToken.from(request.head.headerFields) else { throw .unauthorized }
        let rows = try query(
            "select kind, secret_hash, user_id, workspace_id, stale from agentlive.api_token($1::uuid)", [token.id])
        guard let row = rows.rows.first, row[0] == token.kind.rawValue,
            let hash = row[1], token.matches(storedHashHex: hash)
        else { throw .unauthorized }
        if row[4] == "t" { _ = try? call(.touchToken, [token.id]) }
        switch token.kind {
        case .daemon:
            guard let workspace = row[3] else { throw .unauthorized }
            return .daemon(workspaceID: workspace, tokenID: token.id)
        case .user, .session:
            guard let user = row[2] else { throw .unauthorized }
            return .user(id: user, tokenID: token.id, isSession: token.kind == .session)
        }
    }

    func requireUser(_ request: APIRequest) throws(APIError) -> String {
        guard case .user(let id, _, _) = try authenticate(request) else {
            throw APIError(.forbidden, "forbidden", "This endpoint needs a user's token or session.")
        }
        return id
    }

    /// The daemon token's workspace and id: a daemon acts only on what its token claimed.
    func requireDaemon(_ request: APIRequest) throws(APIError) -> (workspace: String, token: String) {
        guard case .daemon(let workspace, let token) = try authenticate(request) else {
            throw APIError(.forbidden, "forbidden", "This endpoint needs a daemon token.")
        }
        return (workspace, token)
    }
}
