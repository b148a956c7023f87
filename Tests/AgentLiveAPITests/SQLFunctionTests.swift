@testable import AgentLiveAPI
import AgentLivePostgres
import Foundation
import Testing

@Suite struct SQLFunctionTests {
    /// Every function the API calls exists with exactly these argument types in the
    /// migrated database of `deploy/dev/stack test` (AGENTLIVE_TEST_DATABASE_URL).
    @Test("Every SQL function the API calls exists with its argument types")
    func signaturesMatchTheDatabase() throws {
        let url = try #require(ProcessInfo.processInfo.environment["AGENTLIVE_TEST_DATABASE_URL"], "run through deploy/dev/stack test")
        let connection = LibPQConnection(conninfo: url)
        for function in SQLFunction.all {
            let found = try connection.query("select to_regprocedure($1) is not null", [function.description]).scalar
            #expect(found == "t", "\(function) is not in the database")
        }
        #expect(Set(SQLFunction.all.map(\.name)).count == SQLFunction.all.count)
    }

    @Test("A call casts each argument to its type")
    func callsAreTyped() {
        #expect(SQLFunction.issue.callSQL == "select agentlive.api_issue($1::uuid, $2::uuid)")
        #expect(SQLFunction.me.description == "agentlive.api_me(uuid)")
    }
}
