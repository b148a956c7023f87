@testable import AgentLiveAPI
import AgentLivePostgres
import Crypto
import Foundation
import HTTPTypes
import Logging

/// Stands in for PostgreSQL: answers token lookups for the tokens it was given,
/// records every other call, and answers them with `reply`.
final class FakeDatabase: SQLDatabase {
    struct Token {
        var plaintext: String
        var kind: String
        var user: String?
        var workspace: String?
    }

    var tokens: [String: Token] = [:]  // by token id
    var calls: [(sql: String, parameters: [String?])] = []
    var tokenLookups = 0
    var reply: (String, [String?]) throws(PostgresError) -> PostgresRows = { _, _ in
        PostgresRows(columns: ["result"], rows: [["{}"]])
    }

    /// Calls other than the token lookup and touch: what the endpoint did.
    var endpointCalls: [String] {
        calls.map(\.sql).filter { !$0.contains("api_token") && !$0.contains("touch_token") }
    }

    func query(_ sql: String, _ parameters: [String?]) throws(PostgresError) -> PostgresRows {
        func hash(_ token: Token) -> String {
            SHA256.hash(data: Array(token.plaintext.utf8)).map { String(format: "%02x", $0) }.joined()
        }
        if sql.contains("agentlive.api_token") {
            tokenLookups += 1
            guard let id = parameters.first ?? nil, let token = tokens[id] else {
                return PostgresRows(columns: [], rows: [])
            }
            return PostgresRows(columns: [], rows: [[token.kind, hash(token), token.user, token.workspace, "f"]])
        }
        if sql.contains("agentlive.api_ingest") {  // checks the daemon token itself, as sql/010 does
            guard let id = parameters[0], let token = tokens[id], parameters[1] == "\\x" + hash(token) else {
                throw .server(sqlState: "AL401", message: "unauthorized", detail: "Missing, invalid, expired or revoked credentials.")
            }
            guard token.kind == "daemon" else {
                throw .server(sqlState: "AL403", message: "forbidden", detail: "This endpoint needs a daemon token.")
            }
        }
        calls.append((sql, parameters))
        return try reply(sql, parameters)
    }

    /// Registers a token of `kind` and returns its plaintext.
    func addToken(_ kind: String, user: String? = nil, workspace: String? = nil) -> String {
        let id = UUID().uuidString.lowercased()
        let prefix = ["user": "alu", "daemon": "ald", "session": "als"][kind]!
        let plaintext = "\(prefix)_\(id.replacingOccurrences(of: "-", with: ""))_\(String(repeating: "ab", count: 24))"
        tokens[id] = Token(plaintext: plaintext, kind: kind, user: user, workspace: workspace)
        return plaintext
    }
}

struct APIHarness {
    let database = FakeDatabase()
    let api: AgentLiveAPI
    let userToken: String
    let daemonToken: String
    static let user = "11111111-1111-1111-1111-111111111111"
    static let workspace = "22222222-2222-2222-2222-222222222222"
    static let task = "33333333-3333-3333-3333-333333333333"

    init(configuration: APIConfiguration = APIConfiguration()) {
        api = AgentLiveAPI(configuration: configuration, database: database, logger: Logger(label: "test"))
        userToken = database.addToken("user", user: Self.user)
        daemonToken = database.addToken("daemon", workspace: Self.workspace)
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil,
        body: [UInt8]? = nil, contentType: String? = "application/json", scheme: String = "http", tooLarge: Bool = false
    ) -> (status: Int, code: String?, response: APIResponse) {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        let bytes = body ?? json.map { Array($0.utf8) }
        if bytes != nil, let contentType { fields[.contentType] = contentType }
        let head = HTTPRequest(method: method, scheme: scheme, authority: "x", path: path, headerFields: fields)
        let response = api.respond(to: APIRequest(head: head, body: tooLarge ? nil : bytes ?? []))
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let code = (object?["error"] as? [String: Any])?["code"] as? String
        return (response.head.status.code, code, response)
    }
}
