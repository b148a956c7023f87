@testable import AgentLiveAPI
import AgentLivePostgres
import Testing

@Suite struct AuthenticationTests {
    @Test func missingOrUnknownCredentialsAre401AndReachNoEndpoint() {
        let harness = APIHarness()
        #expect(harness.send(.get, "/api/me").status == 401)
        #expect(harness.send(.get, "/api/me", token: "nonsense").code == "unauthorized")
        let forged = harness.userToken.dropLast(2) + "cd"
        #expect(harness.send(.get, "/api/me", token: String(forged)).status == 401)
        #expect(harness.database.endpointCalls.isEmpty)
    }

    @Test func tokenKindsAreKeptToTheirEndpoints() {
        let harness = APIHarness()
        #expect(harness.send(.post, "/api/daemon/tasks/claim", token: harness.userToken, json: "{}").code == "forbidden")
        #expect(harness.send(.get, "/api/issues", token: harness.daemonToken).code == "forbidden")
        #expect(harness.database.endpointCalls.isEmpty)
        #expect(harness.send(.get, "/api/me", token: harness.userToken).status == 200)
        #expect(harness.database.calls.last?.parameters == [APIHarness.user])
    }

    @Test func healthNeedsNoCredentialsAndReports503WithoutDatabase() {
        let harness = APIHarness()
        #expect(harness.send(.get, "/api/health").status == 200)
        harness.database.reply = { _, _ throws(PostgresError) in throw .connection("gone") }
        let down = harness.send(.get, "/api/health")
        #expect(down.status == 503 && down.code == "database_unavailable")
    }

    @Test func signInSetsAnHttpOnlyCookieSecureOverHTTPS() throws {
        let harness = APIHarness()
        harness.database.reply = { _, _ in
            PostgresRows(columns: ["r"], rows: [[#"{"token":"als_x","user":{"id":"u","email":"e","name":"n"}}"#]])
        }
        let plain = harness.send(.post, "/api/session", json: #"{"email":"e","password":"p"}"#)
        let cookie = try #require(plain.response.head.headerFields[.setCookie])
        #expect(cookie.hasPrefix("agentlive_session=als_x; Path=/; HttpOnly; SameSite=Lax"))
        #expect(!cookie.contains("Secure"))
        #expect(!String(decoding: plain.response.body, as: UTF8.self).contains("als_x"))
        let secure = harness.send(.post, "/api/session", json: #"{"email":"e","password":"p"}"#, scheme: "https")
        #expect(secure.response.head.headerFields[.setCookie]?.hasSuffix("; Secure") == true)

        harness.database.reply = { _, _ in PostgresRows(columns: ["r"], rows: [[#"{"error":"invalid_credentials"}"#]]) }
        #expect(harness.send(.post, "/api/session", json: #"{"email":"e","password":"p"}"#).code == "invalid_credentials")
    }
}

@Suite struct IngestValidationTests {
    let path = "/api/daemon/tasks/\(APIHarness.task)/messages"

    func ingest(_ harness: APIHarness, _ json: String, contentType: String? = "application/json", tooLarge: Bool = false)
        -> (status: Int, code: String?)
    {
        let result = harness.send(.post, path, token: harness.daemonToken, json: json, contentType: contentType, tooLarge: tooLarge)
        return (result.status, result.code)
    }

    @Test(arguments: [
        (#"{"messages":[{"seq":0,"type":"text","content":"a"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":-1,"type":"text","content":"a"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"telepathy","content":"a"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a"},{"seq":1,"type":"text","content":"b"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a\u0000"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"tool_use","tool":"x","input":{"k":"\u0000"}}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a","task_id":"44444444-4444-4444-4444-444444444444"}]}"#, 422, "invalid_value"),
        (#"{"messages":[]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":"1","type":"text","content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1.5,"type":"text","content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"type":"text","content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"tool_use"}]}"#, 400, "invalid_field"),
        (#"{"messages":{}}"#, 400, "invalid_field"),
        (#"{"other":1}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a"}"#, 400, "invalid_json"),
        (#"[1,2]"#, 400, "invalid_json"),
        ("", 400, "invalid_json"),
        // The raw checks: everything a decoder into the wire types rejected, and what jsonb rejects.
        (#"{"messages":[{"seq":1,"type":"text","content":"a","meta":{"note":"\u0000"}}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a","k\u0000":1}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"tool_result","output":"\u0000"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a","issue_id":"\u0000"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a"},{"seq":2,"type":"text","content":"b","seq":1}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"tool_use","tool":"\#(String(repeating: "t", count: 1001))"}]}"#, 422, "invalid_value"),
        // A mistyped field anywhere outranks a broken rule before it; a missing content does not.
        (#"{"messages":[{"seq":0,"type":"text","content":"a"},{"seq":"2","type":"text","content":"b"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":0,"type":"text","content":"a"},{"seq":2,"type":"text"}]}"#, 422, "invalid_value"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a"},5]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1e2,"type":"text","content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":9223372036854775808,"type":"text","content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":null,"type":"text","content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":null,"content":"a"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text","content":["a"]}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a","is_error":"no"}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a","created_at":7}]}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a","task_id":7}]}"#, 400, "invalid_field"),
        (#"{"messages":null}"#, 400, "invalid_field"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a"}]} x"#, 400, "invalid_json"),
        (#"{"messages":[{"seq":1,"type":"text","content":"a"},]}"#, 400, "invalid_json"),
        (#"{"messages":[{"seq":01,"type":"text","content":"a"}]}"#, 400, "invalid_json"),
        (#"{"messages":[{"seq":1,"type":"text","content":"\ud800"}]}"#, 400, "invalid_json"),
        (#"{"messages":[{"seq":1,"type":"text","content":"\udc00\ud800"}]}"#, 400, "invalid_json"),
        (#"{"messages":[{"seq":1,"type":"text","content":"\x"}]}"#, 400, "invalid_json"),
        ("{\"messages\":[{\"seq\":1,\"type\":\"text\",\"content\":\"a\tb\"}]}", 400, "invalid_json"),
        (#"{"messages":[{"seq":1,"type":"tool_use","tool":"t","input":"# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}]}", 400, "invalid_json"),
        // A syntax error anywhere outranks a mistyped field before it.
        (#"{"messages":[{"seq":"1","type":"text"},{"seq":2,"type":"text","content":"a}]}"#, 400, "invalid_json"),
    ])
    func badBatchesAreRejectedBeforeTheDatabase(json: String, status: Int, code: String) {
        let harness = APIHarness()
        let result = ingest(harness, json)
        #expect(result.status == status)
        #expect(result.code == code)
        #expect(harness.database.endpointCalls.isEmpty)
    }

    @Test func limitsAnswer413() {
        var configuration = APIConfiguration()
        configuration.maxBatch = 2
        configuration.maxContentBytes = 8
        configuration.maxInputBytes = 16
        let harness = APIHarness(configuration: configuration)
        let three = #"{"messages":[{"seq":1,"type":"text","content":"a"},{"seq":2,"type":"text","content":"a"},{"seq":3,"type":"text","content":"a"}]}"#
        #expect(ingest(harness, three) == (413, "batch_too_large"))
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"text","content":"123456789"}]}"#) == (413, "message_too_large"))
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"tool_result","output":"123456789"}]}"#) == (413, "message_too_large"))
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"tool_use","tool":"t","input":{"k":"0123456789"}}]}"#) == (413, "message_too_large"))
        #expect(ingest(harness, "{}", tooLarge: true) == (413, "body_too_large"))
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"text","content":"12345678"}]}"#).status == 200)
        // Content counts unescaped UTF-8 bytes (4 × é is 8), input its JSON text without
        // whitespace and with strings unescaped, however a client escapes them.
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"text","content":"\u00e9é\u00e9é"}]}"#).status == 200)
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"text","content":"\u00e9é\u00e9éa"}]}"#) == (413, "message_too_large"))
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"tool_use","tool":"t","input": { "k" : "012345678" } }]}"#) == (413, "message_too_large"))
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"tool_use","tool":"t","input": { "k" : "01234567" } }]}"#).status == 200)
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"tool_use","tool":"t","input":{"k":"\u00e9\u00e9\u00e9\u00e9"}}]}"#).status == 200)
        #expect(harness.database.endpointCalls.count == 4)
    }

    @Test func invalidUTF8IsInvalidJSON() {
        let harness = APIHarness()
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let body = Array(#"{"messages":[{"seq":1,"type":"text","content":"a"#.utf8) + bad + Array(#""}]}"#.utf8)
            let result = harness.send(.post, path, token: harness.daemonToken, body: body)
            #expect(result.status == 400 && result.code == "invalid_json", "\(bad)")
        }
        #expect(harness.database.endpointCalls.isEmpty)
    }

    @Test func otherContentTypesAre415() {
        let harness = APIHarness()
        #expect(ingest(harness, "{}", contentType: "text/plain") == (415, "unsupported_media_type"))
        #expect(ingest(harness, "{}", contentType: nil) == (415, "unsupported_media_type"))
        #expect(ingest(harness, "{}", contentType: "application/jsonx") == (415, "unsupported_media_type"))
        #expect(ingest(harness, "{}", contentType: "application/ json") == (415, "unsupported_media_type"))
        #expect(harness.database.endpointCalls.isEmpty)
        let batch = #"{"messages":[{"seq":1,"type":"text","content":"a"}]}"#
        #expect(ingest(harness, batch, contentType: " Application/JSON\t; charset=utf-8").status == 200)
    }

    /// The database gets the token's digest and the stored fields column by column,
    /// as binary arrays of the values sent (unescaped from JSON; shown here the way
    /// PostgreSQL prints arrays); ids come from the path and other fields are left out.
    @Test func aValidBatchReachesTheDatabaseAsColumns() throws {
        let harness = APIHarness()
        let messages = #"[{"seq":2,"type":"tool_use","tool":"Bash","call_id":"c","input":{"command":"ls \"x\"", "n": [1, null]},"task_id":"\#(APIHarness.task.uppercased())","issue_id":"zz","created_at":"x","extra":[1,{"a":null}]}, {"seq":1,"type":"text","content":"h\u00e9llo \"q\" back\\slash \/ \n \ud83d\ude00 NULL {,}","is_error":null,"input":null}, {"seq":3,"type":"tool_result","call_id":"c","output":"","is_error":true,"content":null}]"#
        #expect(ingest(harness, #" { "other": {"x": "\u0000"}, "messages": "# + messages + " } ").status == 200)
        let call = try #require(harness.database.calls.last)
        #expect(call.sql == "select agentlive.api_ingest($1::uuid, $2::bytea, $3::uuid, $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::boolean[])")
        #expect(Array(call.parameters[2...]) == [
            APIHarness.task,
            "{2,1,3}",
            #"{"tool_use","text","tool_result"}"#,
            #"{"Bash",NULL,NULL}"#,
            #"{"c",NULL,"c"}"#,
            #"{NULL,"héllo \"q\" back\\slash / \#n 😀 NULL {,}",NULL}"#,
            #"{"{\"command\":\"ls \\\"x\\\"\", \"n\": [1, null]}",NULL,NULL}"#,
            #"{NULL,NULL,""}"#,
            "{NULL,NULL,t}",
        ])
    }

    @Test func aRepeatedKeyCountsWithItsLastValueAsInJsonb() throws {
        let harness = APIHarness()
        #expect(ingest(harness, #"{"messages":[{"seq":0,"type":"text","content":"a","seq":1}]}"#).status == 200)
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"text","content":"a","seq":0}]}"#).status == 422)
        #expect(ingest(harness, #"{"messages":[],"messages":[{"seq":1,"type":"text","content":"a"}]}"#).status == 200)
        #expect(harness.database.calls.last?.parameters[3...5] == ["{1}", #"{"text"}"#, "{NULL}"])
        #expect(ingest(harness, #"{"messages":[{"seq":1,"type":"text","content":"a","is_error":true,"is_error":null,"content":"b"}]}"#).status == 200)
        #expect(harness.database.calls.last?.parameters[7] == #"{"b"}"#)
        #expect(harness.database.calls.last?.parameters[10] == "{NULL}")
    }

    /// The batch call checks the daemon token itself (one round trip): a token of
    /// another kind gets the answer of every daemon endpoint, a wrong secret 401.
    @Test func theBatchCallChecksTheDaemonToken() {
        let harness = APIHarness()
        let batch = #"{"messages":[{"seq":1,"type":"text","content":"a"}]}"#
        #expect(harness.send(.post, path, token: harness.userToken, json: batch).code == "forbidden")
        let forged = harness.daemonToken.dropLast(2) + "cd"
        #expect(harness.send(.post, path, token: String(forged), json: batch).status == 401)
        #expect(harness.send(.post, path, json: batch).status == 401)
        #expect(harness.database.endpointCalls.isEmpty)
        let lookups = harness.database.tokenLookups
        #expect(ingest(harness, batch).status == 200)
        #expect(harness.database.tokenLookups == lookups)
    }
}

@Suite struct EndpointValidationTests {
    @Test func malformedPathIdsAre404() {
        let harness = APIHarness()
        #expect(harness.send(.get, "/api/issues/not-a-uuid", token: harness.userToken).code == "issue_not_found")
        #expect(harness.send(.post, "/api/daemon/tasks/123/start", token: harness.daemonToken).code == "task_not_found")
        #expect(harness.database.endpointCalls.isEmpty)
    }

    @Test(arguments: ["after=-1", "after=x", "limit=0", "limit=1001", "limit=5&after=1e3"])
    func badCatchUpQueriesAre400(query: String) {
        let harness = APIHarness()
        let result = harness.send(.get, "/api/tasks/\(APIHarness.task)/messages?\(query)", token: harness.userToken)
        #expect(result.status == 400 && result.code == "invalid_query")
    }

    @Test func catchUpPassesDefaultsAndTheCallersScope() throws {
        let harness = APIHarness()
        #expect(harness.send(.get, "/api/tasks/\(APIHarness.task)/messages", token: harness.userToken).status == 200)
        #expect(harness.database.calls.last?.parameters == [APIHarness.user, nil, APIHarness.task, "0", "500"])
        #expect(harness.send(.get, "/api/daemon/tasks/\(APIHarness.task)/messages?after=7&limit=2", token: harness.daemonToken).status == 200)
        #expect(harness.database.calls.last?.parameters == [nil, APIHarness.workspace, APIHarness.task, "7", "2"])
    }

    @Test func progressAndIssueValuesAreChecked() {
        let harness = APIHarness()
        let progress = "/api/daemon/tasks/\(APIHarness.task)/progress"
        #expect(harness.send(.post, progress, token: harness.daemonToken, json: #"{"summary":"s","step":3,"total":2}"#).status == 422)
        #expect(harness.send(.post, progress, token: harness.daemonToken, json: #"{"summary":"s","step":-1}"#).status == 422)
        #expect(harness.send(.post, "/api/issues", token: harness.userToken, json: #"{"title":"   "}"#).status == 422)
        #expect(harness.send(.post, "/api/issues", token: harness.userToken, json: #"{"title":"t","workspace_id":"w"}"#).status == 422)
        // 400 graphemes of two code points each: PostgreSQL would count 800.
        let title = String(repeating: "e\u{301}", count: 400)
        #expect(harness.send(.post, "/api/issues", token: harness.userToken, json: #"{"title":"\#(title)"}"#).status == 422)
        #expect(harness.database.endpointCalls.isEmpty)
        #expect(harness.send(.post, progress, token: harness.daemonToken, json: #"{"summary":"s","step":2,"total":2}"#).status == 200)
    }

    @Test func aFractionForAnIntegerIsAFieldErrorAndBrokenJSONIsNot() {
        let harness = APIHarness()
        let progress = "/api/daemon/tasks/\(APIHarness.task)/progress"
        #expect(harness.send(.post, progress, token: harness.daemonToken, json: #"{"summary":"s","step":1.5}"#).code == "invalid_field")
        #expect(harness.send(.post, progress, token: harness.daemonToken, json: #"{"summary":"s","step":1.5"#).code == "invalid_json")
        #expect(harness.database.endpointCalls.isEmpty)
    }

    @Test func claimWithNothingQueuedIs204() {
        let harness = APIHarness()
        harness.database.reply = { _, _ in PostgresRows(columns: ["r"], rows: [[nil]]) }
        let json = #"{"daemon_id":"\#(APIHarness.task)","agent_id":"\#(APIHarness.task)"}"#
        let result = harness.send(.post, "/api/daemon/tasks/claim", token: harness.daemonToken, json: json)
        #expect(result.status == 204)
        #expect(result.response.body.isEmpty)
    }
}

@Suite struct DatabaseErrorTests {
    @Test(arguments: [
        (PostgresError.server(sqlState: "AL409", message: "task_not_active", detail: "The task is completed."), 409, "task_not_active"),
        (PostgresError.server(sqlState: "AL404", message: "issue_not_found", detail: "No such issue."), 404, "issue_not_found"),
        (PostgresError.server(sqlState: "22P02", message: "invalid input syntax", detail: nil), 422, "invalid_value"),
        (PostgresError.server(sqlState: "23505", message: "duplicate key", detail: nil), 409, "conflict"),
        (PostgresError.server(sqlState: "23514", message: "check constraint", detail: nil), 422, "invalid_value"),
        (PostgresError.server(sqlState: "57P01", message: "terminating", detail: nil), 503, "database_unavailable"),
        (PostgresError.connection("no route"), 503, "database_unavailable"),
        (PostgresError.server(sqlState: "42883", message: "no such function", detail: nil), 500, "internal_error"),
    ])
    func mapsToStatusAndCode(error: PostgresError, status: Int, code: String) {
        let mapped = APIError(error)
        #expect(mapped.status.code == status)
        #expect(mapped.code == code)
    }
}

@Suite struct MessageTypeTests {
    let path = "/api/daemon/tasks/\(APIHarness.task)/messages"

    @Test("thinking is a message type with content; input must be a JSON object")
    func thinkingAndObjectInputs() {
        let harness = APIHarness()
        let ok = harness.send(.post, path, token: harness.daemonToken, json: #"{"messages":[{"seq":1,"type":"thinking","content":"hm"}]}"#)
        #expect(ok.status == 200)
        for bad in [
            #"{"messages":[{"seq":1,"type":"thinking"}]}"#,
            #"{"messages":[{"seq":1,"type":"tool_use","tool":"Bash","input":"rm -rf /"}]}"#,
            #"{"messages":[{"seq":1,"type":"tool_use","tool":"Bash","input":[1]}]}"#,
        ] {
            #expect((400..<500).contains(harness.send(.post, path, token: harness.daemonToken, json: bad).status), "\(bad)")
        }
        #expect(harness.database.endpointCalls.count == 1)
    }
}
