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

