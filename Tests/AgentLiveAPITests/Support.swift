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

    func query(_ sql: String, parameters raw: [PostgresParameter]) throws(PostgresError) -> PostgresRows {
        let parameters = raw.map(Self.describe)
        func digest(_ token: Token) -> [UInt8] { Array(SHA256.hash(data: Array(token.plaintext.utf8))) }
        if sql.contains("agentlive.api_token") {
            tokenLookups += 1
            guard let id = parameters.first ?? nil, let token = tokens[id] else {
                return PostgresRows(columns: [], rows: [])
            }
            let hash = digest(token).map { String(format: "%02x", $0) }.joined()
            return PostgresRows(columns: [], rows: [[token.kind, hash, token.user, token.workspace, "f"]])
        }
        if sql.contains("agentlive.api_ingest") {  // checks the daemon token itself, as sql/010 does
            guard let id = parameters[0], let token = tokens[id], raw[1] == .binary(digest(token)) else {
                throw .server(sqlState: "AL401", message: "unauthorized", detail: "Missing, invalid, expired or revoked credentials.")
            }
            guard token.kind == "daemon" else {
                throw .server(sqlState: "AL403", message: "forbidden", detail: "This endpoint needs a daemon token.")
            }
        }
        calls.append((sql, parameters))
        return try reply(sql, parameters)
    }

    /// A parameter as the tests compare it: text as it is, a binary array written
    /// the way PostgreSQL prints one (`{1,NULL,"a \\"b\\""}`), other binary as `\\x…`.
    static func describe(_ parameter: PostgresParameter) -> String? {
        switch parameter {
        case .null: return nil
        case .text(let text): return text
        case .binary(let bytes):
            guard let (element, values) = binaryArray(bytes) else {
                return "\\x" + bytes.map { String(format: "%02x", $0) }.joined()
            }
            func quoted(_ text: String) -> String {
                "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            }
            return "{" + values.map { $0.map { element == 25 ? quoted($0) : $0 } ?? "NULL" }.joined(separator: ",") + "}"
        }
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
        body: [UInt8]? = nil, contentType: String? = "application/json", scheme: String = "http", tooLarge: Bool = false,
        headers: [HTTPField.Name: String] = [:], remoteAddress: String? = nil
    ) -> (status: Int, code: String?, response: APIResponse) {
        var fields = HTTPFields()
        for (name, value) in headers { fields[name] = value }
        if let token { fields[.authorization] = "Bearer \(token)" }
        let bytes = body ?? json.map { Array($0.utf8) }
        if bytes != nil, let contentType { fields[.contentType] = contentType }
        let head = HTTPRequest(method: method, scheme: scheme, authority: "x", path: path, headerFields: fields)
        let response = api.respond(to: APIRequest(head: head, body: tooLarge ? nil : bytes ?? [], remoteAddress: remoteAddress))
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let code = (object?["error"] as? [String: Any])?["code"] as? String
        return (response.head.status.code, code, response)
    }
}

/// Reads a one-dimensional array in PostgreSQL's binary form: its element type's OID
/// and the elements as text (int8 in decimal, bool as t/f, nil for NULL); nil when
/// the bytes are not exactly such an array.
func binaryArray(_ bytes: [UInt8]) -> (element: Int32, values: [String?])? {
    func int32(_ at: Int) -> Int32? {
        guard at >= 0, at + 4 <= bytes.count else { return nil }
        return Int32(bitPattern: bytes[at..<at + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }
    guard int32(0) == 1, let hasNulls = int32(4), let element = int32(8), [16, 20, 25].contains(element),
        let count = int32(12), count >= 0, int32(16) == 1
    else { return nil }
    var at = 20
    var values: [String?] = []
    for _ in 0..<count {
        guard let length = int32(at) else { return nil }
        at += 4
        if length == -1 {
            values.append(nil)
            continue
        }
        guard length >= 0, at + Int(length) <= bytes.count else { return nil }
        let value = bytes[at..<at + Int(length)]
        at += Int(length)
        switch element {
        case 20:
            guard length == 8 else { return nil }
            values.append(String(Int64(bitPattern: value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
        case 16:
            guard length == 1 else { return nil }
            values.append(value.first == 1 ? "t" : "f")
        default:
            values.append(String(decoding: value, as: UTF8.self))
        }
    }
    guard at == bytes.count, (hasNulls == 1) == values.contains(where: { $0 == nil }) else { return nil }
    return (element, values)
}
