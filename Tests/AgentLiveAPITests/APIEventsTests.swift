@testable import AgentLiveAPI
import AgentLivePostgres
import Testing

/// What the API reports for metrics: the route of each response, the messages an
/// ingest batch stored, failed database calls.
@Suite struct APIEventsTests {
    /// Collects what the API reports.
    final class Recorder {
        var ingested: [Int] = []
        var databaseErrors: [Bool] = []

        func attach(to api: AgentLiveAPI) {
            api.events.messagesIngested = { self.ingested.append($0) }
            api.events.databaseError = { self.databaseErrors.append($0) }
        }
    }

    @Test("A response names the route that answered it, errors after the match included, and none when no route matched")
    func responsesNameTheirRoute() throws {
        let harness = APIHarness()
        let issue = try #require(Router.routes.firstIndex { $0.pattern == "/api/issues/{id}" && $0.method == .get })
        let health = try #require(Router.routes.firstIndex { $0.pattern == "/api/health" })
        #expect(harness.send(.get, "/api/health").response.route == health)
        let unauthorized = harness.send(.get, "/api/issues/11111111-1111-1111-1111-111111111111")
        #expect(unauthorized.status == 401)
        #expect(unauthorized.response.route == issue)
        #expect(harness.send(.get, "/api/nowhere").response.route == nil)
        #expect(harness.send(.put, "/api/health").response.route == nil)
    }

    @Test("An ingest batch reports the messages the database accepted, not the duplicates")
    func ingestReportsAcceptedMessages() {
        let harness = APIHarness()
        let recorder = Recorder()
        recorder.attach(to: harness.api)
        harness.database.reply = { _, _ in
            PostgresRows(columns: ["result"], rows: [[#"{"accepted": 2, "last_seq": 3, "duplicates": 1}"#]])
        }
        let messages = #"{"messages":[{"seq":1,"type":"text","content":"a"},{"seq":2,"type":"text","content":"b"},{"seq":3,"type":"text","content":"c"}]}"#
        let result = harness.send(.post, "/api/daemon/tasks/\(APIHarness.task)/messages", token: harness.daemonToken, json: messages)
        #expect(result.status == 200)
        #expect(recorder.ingested == [2])
    }

    @Test("A database that cannot be reached is reported as unavailable, another server error as an error, a client error not at all")
    func databaseErrorsAreReportedByKind() {
        let harness = APIHarness()
        let recorder = Recorder()
        recorder.attach(to: harness.api)
        let path = "/api/issues/11111111-1111-1111-1111-111111111111"
        harness.database.reply = { (_, _) throws(PostgresError) -> PostgresRows in throw .connection("server closed the connection") }
        #expect(harness.send(.get, path, token: harness.userToken).status == 503)
        harness.database.reply = { (_, _) throws(PostgresError) -> PostgresRows in throw .server(sqlState: "XX000", message: "internal", detail: nil) }
        #expect(harness.send(.get, path, token: harness.userToken).status == 500)
        harness.database.reply = { (_, _) throws(PostgresError) -> PostgresRows in throw .server(sqlState: "AL404", message: "issue_not_found", detail: "No such issue.") }
        #expect(harness.send(.get, path, token: harness.userToken).status == 404)
        #expect(recorder.databaseErrors == [true, false])
    }

    @Test("The accepted count is read from the ingest result however the database spaces it")
    func acceptedCountIsParsed() {
        #expect(APIEvents.accepted(in: Array(#"{"accepted": 500, "last_seq": 9}"#.utf8)) == 500)
        #expect(APIEvents.accepted(in: Array(#"{"last_seq":9,"accepted":7}"#.utf8)) == 7)
        #expect(APIEvents.accepted(in: Array(#"{"last_seq": 9}"#.utf8)) == 0)
    }
}
