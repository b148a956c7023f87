@testable import AgentLiveAPI
import HTTPTypes
import Testing

@Suite struct RouterTests {
    @Test func matchesPathsAndDecodesParameters() throws {
        let match = try Router.match(method: .post, path: "/api/daemon/tasks/abc%2Dd/messages")
        #expect(match == Router.Match(endpoint: .ingest, parameters: ["abc-d"]))
        #expect(try Router.match(method: .post, path: "/api/daemon/tasks/claim").endpoint == .claim)
        #expect(try Router.match(method: .get, path: "/api/issues/").endpoint == .listIssues)
        #expect(try Router.match(method: .head, path: "/api/health").endpoint == .health)
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() {
        #expect(throws: APIError(.notFound, "not_found", "No such endpoint: /api/nope.")) {
            try Router.match(method: .get, path: "/api/nope")
        }
        do {
            _ = try Router.match(method: .put, path: "/api/session")
            Issue.record("PUT /api/session matched")
        } catch {
            #expect(error.status == .methodNotAllowed)
            #expect(error.headerFields[.allow] == "POST, DELETE")
        }
    }

    @Test func everyRouteIsReachableAndUnique() throws {
        let lines = Router.routes.map(\.description)
        #expect(Set(lines).count == lines.count)
        for route in Router.routes {
            let path = route.pattern.replacingOccurrences(of: "{id}", with: "x")
            #expect(try Router.match(method: route.method, path: Substring(path)).endpoint == route.endpoint)
        }
        #expect(Set(Router.routes.map(\.endpoint)).count == Endpoint.allCases.count)
    }
}

@Suite struct CredentialsTests {
    @Test func parsesTokensOfEachKind() throws {
        let token = try #require(PresentedToken("ald_0123456789abcdef0123456789ABCDEF_" + String(repeating: "0f", count: 24)))
        #expect(token.kind == .daemon)
        #expect(token.id == "01234567-89ab-cdef-0123-456789abcdef")
        #expect(PresentedToken("alx_0123456789abcdef0123456789abcdef_" + String(repeating: "0f", count: 24)) == nil)
        #expect(PresentedToken("alu_0123456789abcdef0123456789abcdef_" + String(repeating: "0f", count: 23)) == nil)
        #expect(PresentedToken("alu_0123456789abcdef0123456789abcdeg_" + String(repeating: "0f", count: 24)) == nil)
        #expect(PresentedToken("") == nil)
    }

    @Test func headerWinsOverCookieAndMalformedHeaderIsRejected() throws {
        let session = "als_" + String(repeating: "a", count: 32) + "_" + String(repeating: "b", count: 48)
        var fields = HTTPFields()
        fields[.cookie] = "theme=dark; agentlive_session=\(session)"
        #expect(try PresentedToken.from(fields)?.get().kind == .session)
        fields[.authorization] = "Basic abc"
        #expect(throws: APIError.unauthorized) { try PresentedToken.from(fields)?.get() }
        #expect(PresentedToken.from(HTTPFields()) == nil)
    }

    @Test func hashComparisonNeedsTheExactToken() {
        let token = PresentedToken("alu_" + String(repeating: "1", count: 32) + "_" + String(repeating: "2", count: 48))!
        // SHA-256 of the token above, computed with sha256sum.
        let hash = "4468a18b5b3c37ea6eff557c9dbf1461a2e4c33829318828ee824bd3a5642fcd"
        #expect(token.matches(storedHashHex: hash))
        #expect(!token.matches(storedHashHex: String(hash.dropLast()) + "e"))
        #expect(!token.matches(storedHashHex: "zz"))
    }
}
