// agentlive-fuzz: libFuzzer target for what a request goes through before it reaches
// the database: FastCGI parameters -> HTTP request head, body decoding and the
// validators of the endpoints, the response head written back to nginx.
//
// An input is FastCGI parameters, one `NAME=value` per line, then an empty line,
// then the request body:
//
//     REQUEST_METHOD=POST
//     REQUEST_URI=/api/daemon/tasks/33333333-3333-3333-3333-333333333333/progress
//     CONTENT_TYPE=application/json
//     HTTP_AUTHORIZATION=Bearer ald_…
//
//     {"summary":"x","step":1,"total":2}
//
// The request they describe goes to `AgentLiveAPI.respond` over a fake database that
// knows two tokens (`FuzzDatabase.userToken`, `.daemonToken`); then the same body goes
// to the endpoints that decode a body (ingest, progress, register, heartbeat, claim,
// complete, fail, create issue, assign, comment, sign-in) with the right token. Each
// answer must be below 500, a JSON body with Content-Type application/json (errors
// the contract's error object), and a response head without stray line breaks; what
// reaches the database must hold no NUL and its JSON parameters must parse. Anything
// else traps: that is the crash libFuzzer reports.
//
// Built with `-sanitize=fuzzer -DFUZZING` (deploy/dev/fuzz.sh), `main` hands over to
// libFuzzer. In a normal build it replays files: `agentlive-fuzz FILE|DIR…`.

import AgentLiveAPI
import AgentLiveFastCGI
import AgentLiveFuzzSupport
import AgentLivePostgres
import Crypto
import Foundation
import HTTPTypes
import Logging

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput(Array(UnsafeBufferPointer(start: data, count: size))).run()
    return 0
}

// MARK: - The input

struct FuzzInput {
    static let taskID = "33333333-3333-3333-3333-333333333333"
    static let issueID = "44444444-4444-4444-4444-444444444444"

    /// Small limits, so that inputs of a few KiB (libFuzzer's -max_len) reach the
    /// "too large" answers.
    static let configuration: APIConfiguration = {
        var configuration = APIConfiguration()
        configuration.maxBodyBytes = 2048
        configuration.maxBatch = 8
        configuration.maxContentBytes = 256
        configuration.maxInputBytes = 256
        configuration.maxSummaryCharacters = 64
        configuration.maxPageSize = 50
        configuration.defaultPageSize = 20
        return configuration
    }()

    /// The endpoints that decode a body: method, path, token kind.
    static let bodyEndpoints: [(HTTPRequest.Method, String, String?)] = [
        (.post, "/api/daemon/tasks/\(taskID)/messages", "daemon"),
        (.post, "/api/daemon/tasks/\(taskID)/progress", "daemon"),
        (.post, "/api/daemon/register", "daemon"),
        (.post, "/api/daemon/heartbeat", "daemon"),
        (.post, "/api/daemon/tasks/claim", "daemon"),
        (.post, "/api/daemon/tasks/\(taskID)/complete", "daemon"),
        (.post, "/api/daemon/tasks/\(taskID)/fail", "daemon"),
        (.post, "/api/issues", "user"),
        (.post, "/api/issues/\(issueID)/assign", "user"),
        (.post, "/api/issues/\(issueID)/comments", "user"),
        (.post, "/api/session", nil),
    ]

    var parameters: [String] = []
    var body: [UInt8] = []

    init(_ bytes: [UInt8]) {
        // Parameters up to the first empty line, the body after it.
        var headEnd = bytes.endIndex
        var bodyStart = bytes.endIndex
        if bytes.count >= 2 {
            for index in 0..<(bytes.count - 1) where bytes[index] == 0x0A && bytes[index + 1] == 0x0A {
                headEnd = index
                bodyStart = index + 2
                break
            }
        }
        // libfcgi hands over C strings: a parameter ends at its first NUL.
        parameters = bytes[..<headEnd].split(separator: 0x0A).map { line in
            String(decoding: line.prefix { $0 != 0 }, as: UTF8.self)
        }
        body = Array(bytes[bodyStart...])
    }

    func run() {
        let database = FuzzDatabase()
        let api = AgentLiveAPI(
            configuration: Self.configuration, database: database,
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))

        // 1. The request the parameters describe, as the FastCGI worker builds it.
        let fastCGI = FastCGIParameters(parameters)
        if let head = fastCGI.httpRequest {
            var requestBody: [UInt8]? = body
            if let text = fastCGI["CONTENT_LENGTH"] {
                let length = Int(text) ?? 0
                requestBody = length > Self.configuration.maxBodyBytes ? nil : Array(body.prefix(max(0, length)))
            }
            let request = APIRequest(head: head, body: requestBody)
            check(api.respond(to: request), to: request)
        }

        // 2. The body, to every endpoint that decodes one.
        let contentType = fastCGI["CONTENT_TYPE"] ?? "application/json"
        for (method, path, kind) in Self.bodyEndpoints {
            var fields = HTTPFields()
            if let kind { fields[.authorization] = "Bearer \(kind == "user" ? FuzzDatabase.userToken : FuzzDatabase.daemonToken)" }
            if let name = HTTPField.Name("Content-Type") { fields.append(HTTPField(name: name, value: contentType)) }
            let head = HTTPRequest(method: method, scheme: "http", authority: "fuzz", path: path, headerFields: fields)
            let request = APIRequest(head: head, body: body)
            check(api.respond(to: request), to: request)
        }
    }

    /// Traps unless the answer is one the contract allows for bad input.
    func check(_ response: APIResponse, to request: APIRequest) {
        let status = response.head.status.code
        let what = "\(request.head.method.rawValue) \(request.head.path ?? "") -> \(status)"
        if verbose { print("  \(what) \(String(decoding: response.body.prefix(120), as: UTF8.self))") }
        guard status < 500 else {
            fatalError("\(what): \(String(decoding: response.body, as: UTF8.self))")
        }
        if !response.body.isEmpty {
            let type = response.head.headerFields[.contentType] ?? ""
            guard type.hasPrefix("application/json") else { fatalError("\(what): Content-Type '\(type)'") }
            guard let document = try? JSONSerialization.jsonObject(with: Data(response.body)) else {
                fatalError("\(what): the body is not JSON: \(String(decoding: response.body, as: UTF8.self))")
            }
            if status >= 400 {
                guard let error = (document as? [String: Any])?["error"] as? [String: Any],
                    let code = error["code"] as? String, !code.isEmpty,
                    let message = error["message"] as? String, !message.isEmpty
                else { fatalError("\(what): not an error object: \(document)") }
            }
        } else if status != 204 && status != 304 && request.head.method != .head {
            fatalError("\(what): no body")
        }
        // What the FastCGI worker writes to nginx: every header on one line of its own.
        // (Bytes, not Characters: "\r\n" is a single Character in Swift.)
        let head = FastCGIResponseHead(response.head, contentLength: response.body.count).bytes
        let text = String(decoding: head, as: UTF8.self)
        guard text.hasPrefix("Status: \(status) "), head.suffix(4) == [13, 10, 13, 10] else {
            fatalError("\(what): head \(text.debugDescription)")
        }
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for index in 0..<(head.count - 1) where head[index] == 13 && head[index + 1] == 10 {
            lines.append(head[start..<index])
            start = index + 2
        }
        for line in lines.dropLast() {  // the last is the empty line before the body
            guard !line.contains(13), !line.contains(10), !line.contains(0),
                let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex
            else { fatalError("\(what): header line \(String(decoding: line, as: UTF8.self).debugDescription)") }
        }
    }
}

// MARK: - The database

/// Answers token lookups for its two tokens, the sign-in with a session, and every
/// other call with `{}`; checks what the API sends it.
final class FuzzDatabase: SQLDatabase {
    static let userID = "11111111-1111-1111-1111-111111111111"
    static let workspaceID = "22222222-2222-2222-2222-222222222222"
    static let userToken = "alu_0123456789abcdef0123456789abcdef_" + String(repeating: "ab", count: 24)
    static let daemonToken = "ald_fedcba9876543210fedcba9876543210_" + String(repeating: "cd", count: 24)
    static let sessionToken = "als_00112233445566778899aabbccddeeff_" + String(repeating: "ef", count: 24)

    /// By token id: kind, SHA-256 of the plaintext (hex), user, workspace.
    static let tokens: [String: [String?]] = {
        func entry(_ plaintext: String, _ kind: String, _ user: String?, _ workspace: String?) -> (String, [String?]) {
            let hex = String(plaintext.split(separator: "_")[1])
            let id = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
                String(hex.dropFirst(range.lowerBound).prefix(range.count))
            }.joined(separator: "-")
            let hash = SHA256.hash(data: Array(plaintext.utf8)).map { String(format: "%02x", $0) }.joined()
            return (id, [kind, hash, user, workspace, "f"])
        }
        return Dictionary(uniqueKeysWithValues: [
            entry(userToken, "user", userID, nil),
            entry(daemonToken, "daemon", nil, workspaceID),
            entry(sessionToken, "session", userID, nil),
        ])
    }()

    /// The calls whose parameter at this index is a JSON document.
    static func holdsNUL(_ value: Any) -> Bool {
        switch value {
        case let string as String: return string.utf8.contains(0)
        case let array as [Any]: return array.contains(where: holdsNUL)
        case let object as [String: Any]: return object.contains { $0.key.utf8.contains(0) || holdsNUL($0.value) }
        default: return false
        }
    }

    /// Text elements of a binary array, checked as PostgreSQL's array_recv and
    /// textrecv would: every length adds up, and text is UTF-8 without NUL.
    static func checkBinaryArray(_ bytes: [UInt8], _ sql: String) {
        func int32(_ at: Int) -> Int {
            guard at + 4 <= bytes.count else { fatalError("a binary array ends early: \(sql)") }
            return Int(Int32(bitPattern: bytes[at..<at + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
        }
        guard int32(0) == 1, int32(16) == 1 else { fatalError("not a one-dimensional array: \(sql)") }
        var at = 20
        for _ in 0..<int32(12) {
            let length = int32(at)
            at += 4
            guard length != -1 else { continue }
            guard length >= 0, at + length <= bytes.count else { fatalError("an element runs past the array: \(sql)") }
            let value = Array(bytes[at..<at + length])
            at += length
            if int32(8) == 25, value.contains(0) || String(validating: value, as: UTF8.self) == nil {
                fatalError("a text element PostgreSQL would refuse: \(sql) \(value)")
            }
        }
        guard at == bytes.count else { fatalError("bytes after the last element: \(sql)") }
    }

    func query(_ sql: String, parameters raw: [PostgresParameter]) throws(PostgresError) -> PostgresRows {
        var parameters: [String?] = []
        for (index, parameter) in raw.enumerated() {
            switch parameter {
            case .null: parameters.append(nil)
            case .text(let text): parameters.append(text)
            case .binary(let bytes):
                // api_ingest's columns; before them, the token's digest.
                if sql.contains("agentlive.api_ingest("), index >= 3 { Self.checkBinaryArray(bytes, sql) }
                parameters.append("(binary)")
            }
        }
        for case let parameter? in parameters where parameter.utf8.contains(0) {
            fatalError("a NUL reaches PostgreSQL (libpq would cut the value there): \(sql) \(parameter.debugDescription)")
        }
        // Every jsonb argument of the function called, as SQLFunction types it, is JSON (or NULL).
        let function = SQLFunction.all.first { sql.contains("agentlive.\($0.name)(") }
        guard function.map({ $0.arguments.count == parameters.count }) ?? true else {
            fatalError("\(sql) gets \(parameters.count) parameters")
        }
        for (index, type) in (function?.arguments ?? []).enumerated() where type == "jsonb" {
            guard let document = parameters[index] else { continue }
            guard let value = try? JSONSerialization.jsonObject(with: Data(document.utf8), options: .fragmentsAllowed)
            else { fatalError("\(sql) gets a parameter that is not JSON: \(parameters)") }
            // jsonb refuses an escaped NUL anywhere.
            guard !Self.holdsNUL(value) else { fatalError("\(sql) gets a \\u0000 jsonb would refuse: \(parameters)") }
        }
        if sql.contains("agentlive.api_token(") {
            guard let id = parameters.first ?? nil, let row = Self.tokens[id] else {
                return PostgresRows(columns: [], rows: [])
            }
            return PostgresRows(columns: ["kind", "secret_hash", "user_id", "workspace_id", "stale"], rows: [row])
        }
        if sql.contains("agentlive.api_login(") {
            let document = #"{"token":"\#(Self.sessionToken)","user":{"id":"\#(Self.userID)","email":"a@b.c","name":"A"}}"#
            return PostgresRows(columns: ["result"], rows: [[document]])
        }
        return PostgresRows(columns: ["result"], rows: [["{}"]])
    }
}

// MARK: - main

/// Replay with AGENTLIVE_FUZZ_VERBOSE=1 prints every answer (to check what a seed reaches).
nonisolated(unsafe) var verbose = false

@main
struct FuzzMain {
    static func main() {
        verbose = ProcessInfo.processInfo.environment["AGENTLIVE_FUZZ_VERBOSE"] == "1"
        fuzzMain(name: "agentlive-fuzz", builder: "deploy/dev/fuzz.sh", each: { if verbose { print($0) } }) { data, size in
            fuzz(data, size)
        }
    }
}
