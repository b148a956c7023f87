@testable import AgentLiveAPI
import AgentLivePostgres
import AgentLiveCredentials
import HTTPTypes
import Testing

/// Requests made with the session cookie, as a browser sends them.
@Suite struct BrowserSessionTests {
    let harness = APIHarness()
    let cancel = "/api/tasks/\(APIHarness.task)/cancel"

    func cookie(_ harness: APIHarness) -> String {
        "agentlive_session=" + harness.database.addToken("session", user: APIHarness.user)
    }

    func post(_ path: String, _ headers: [HTTPField.Name: String], json: String? = nil, harness: APIHarness? = nil)
        -> (status: Int, code: String?, response: APIResponse)
    {
        let harness = harness ?? self.harness
        return harness.send(.post, path, json: json, headers: [.cookie: cookie(harness)].merging(headers) { $1 })
    }

    @Test("A cookie state change from another origin is 403 cross_origin, whatever its body, and reaches no endpoint")
    func foreignOriginsAreRefused() {
        for headers: [HTTPField.Name: String] in [
            [.origin: "http://x:8081"], [.origin: "http://evil.example"], [.origin: "null"],
            [.referer: "http://x:9999/attack.html"], [:],
        ] {
            #expect(post(cancel, headers).code == "cross_origin", "\(headers)")
            #expect(post(cancel, headers, json: "{}").status == 403)
        }
        #expect(harness.database.endpointCalls.isEmpty)
    }

    @Test("The page's own origin, or its Referer when there is no Origin, is let through")
    func ownOriginPasses() {
        #expect(post(cancel, [.origin: "http://x"]).status == 200)
        #expect(post(cancel, [.origin: "HTTP://X:80"]).status == 200)
        #expect(post(cancel, [.referer: "http://x/issues/1"]).status == 200)
        #expect(harness.database.endpointCalls.count == 3)
    }

    @Test("Bearer clients and reads are not checked")
    func bearerAndReadsAreNotBrowsers() {
        #expect(harness.send(.post, cancel, token: harness.userToken, headers: [.origin: "http://evil.example"]).status == 200)
        #expect(harness.send(.get, "/api/me", headers: [.cookie: cookie(harness), .origin: "http://evil.example"]).status == 200)
    }

    @Test("Behind a TLS proxy the configured public origin is the one that counts, and the cookie is Secure")
    func publicOriginDecides() throws {
        let configured = APIHarness(configuration: APIConfiguration(environment: ["AGENTLIVE_PUBLIC_ORIGIN": "https://agentlive.example.com/"]))
        #expect(post(cancel, [.origin: "http://x"], harness: configured).code == "cross_origin")
        #expect(post(cancel, [.origin: "https://agentlive.example.com"], harness: configured).status == 200)
        configured.database.reply = { _, _ in
            PostgresRows(columns: ["r"], rows: [[#"{"token":"als_x","user":{"id":"u","email":"e","name":"n"}}"#]])
        }
        let signIn = configured.send(.post, "/api/session", json: #"{"email":"e","password":"p"}"#)
        #expect(try #require(signIn.response.head.headerFields[.setCookie]).hasSuffix("; Secure"))
    }

    @Test("Sign-in passes the client's address when it is an IP address, and nothing for a Unix socket peer")
    func signInCountsByAddress() {
        harness.database.reply = { _, _ in PostgresRows(columns: ["r"], rows: [[#"{"error":"invalid_credentials"}"#]]) }
        for (given, passed) in [("192.0.2.7", "192.0.2.7"), ("2001:db8::1", "2001:db8::1"), ("unix:", nil), ("x'; --", nil)] {
            _ = harness.send(.post, "/api/session", json: #"{"email":"e","password":"p"}"#, remoteAddress: given)
            #expect(harness.database.calls.last?.parameters.last == .some(passed), "\(given)")
        }
    }

    @Test("Origins are compared as scheme, host and port")
    func originsNormalize() {
        #expect(PageOrigin.normalized("https://A.example:443/x?y") == "https://a.example")
        #expect(PageOrigin.normalized("http://a.example:8080") == "http://a.example:8080")
        #expect(PageOrigin.normalized("null") == nil)
        #expect(PageOrigin.normalized("javascript://a.example") == nil)
        #expect(PageOrigin.normalized("http://user@a.example") == nil)
    }
}

@Suite struct RunReportTests {
    let harness = APIHarness()
    let complete = "/api/daemon/tasks/\(APIHarness.task)/complete"
    let fail = "/api/daemon/tasks/\(APIHarness.task)/fail"

    @Test("Usage and the session id reach the database as checked values")
    func usageIsPassedOn() throws {
        let json = #"{"session_id":"s-1","usage":{"model":"m","input_tokens":10,"output_tokens":5,"cost_usd":0.25}}"#
        #expect(harness.send(.post, complete, token: harness.daemonToken, json: json).status == 200)
        let call = try #require(harness.database.calls.last)
        #expect(call.sql.contains("agentlive.api_complete("))
        #expect(call.parameters[5] == "s-1")
        let usage = try #require(call.parameters[6])
        #expect(usage.contains(#""input_tokens":10"#) && usage.contains(#""cost_usd":0.25"#))
        #expect(harness.send(.post, fail, token: harness.daemonToken, json: #"{"error":"x","session_id":"s-2"}"#).status == 200)
        #expect(harness.database.calls.last?.parameters[4] == "s-2")
    }

    @Test("Bad usage and links are 4xx and reach no database call", arguments: [
        #"{"usage":{"input_tokens":-1,"output_tokens":0}}"#,
        #"{"usage":{"input_tokens":1}}"#,
        #"{"usage":{"input_tokens":1,"output_tokens":1,"cost_usd":-0.5}}"#,
        #"{"session_id":""}"#,
        #"{"pr_url":"javascript:alert(1)"}"#,
        #"{"pr_url":"https://"}"#,
        #"{"pr_url":"https://x.example/a b"}"#,
        #"{"pr_url":"data:text/html,x"}"#,
    ])
    func badReportsAreRefused(json: String) {
        let result = harness.send(.post, complete, token: harness.daemonToken, json: json)
        #expect((400..<500).contains(result.status), "\(json)")
        #expect(harness.database.endpointCalls.isEmpty)
    }
}
