import AgentLivePostgres
import Foundation
import Testing

/// These run against the real PostgreSQL of `deploy/dev/stack test`, which exports
/// AGENTLIVE_TEST_DATABASE_URL; without it they fail rather than pass vacuously.
func testDatabaseURL() throws -> String {
    try #require(ProcessInfo.processInfo.environment["AGENTLIVE_TEST_DATABASE_URL"], "run through deploy/dev/stack test")
}

@Suite(.serialized) struct PostgresConnectionTests {
    @Test func parametersAndNullsRoundTrip() throws {
        let connection = PostgresConnection(conninfo: try testDatabaseURL())
        let rows = try connection.query("select $1::text as a, $2::int + 1 as b, $3::text as c", ["héllo ✓", "41", nil])
        #expect(rows.columns == ["a", "b", "c"])
        #expect(rows.rows == [["héllo ✓", "42", nil]])
    }

    /// Binary values reach the server as their type, next to text ones: bytes with
    /// a NUL, an empty value that is not NULL, an array in array_recv's form.
    @Test func binaryParametersArriveAsTheirType() throws {
        let connection = PostgresConnection(conninfo: try testDatabaseURL())
        let rows = try connection.query(
            "select encode($1::bytea, 'hex'), $2::bytea is null, length($2::bytea), $3::text",
            parameters: [.binary([0, 1, 0xFF]), .binary([]), .text("t")])
        #expect(rows.rows == [["0001ff", "f", "0", "t"]])
        // int4[] {7,NULL}: 1 dimension, has NULLs, element type 23, 2 elements from index 1.
        let array: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1]
            + [0, 0, 0, 4, 0, 0, 0, 7] + [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(try connection.query("select $1::int4[]::text", parameters: [.binary(array)]).scalar == "{7,NULL}")
    }

    @Test func serverErrorsCarrySQLStateMessageAndDetail() throws {
        let connection = PostgresConnection(conninfo: try testDatabaseURL())
        #expect(throws: PostgresError.server(sqlState: "AL409", message: "task_not_active", detail: "It ended.")) {
            try connection.query("select agentlive.api_error(409, 'task_not_active', 'It ended.')")
        }
        // The connection is still usable after an error.
        #expect(try connection.query("select 1").scalar == "1")
    }

    @Test func eachTextIsPreparedOncePerSession() throws {
        let connection = PostgresConnection(conninfo: try testDatabaseURL())
        for n in 1...3 { #expect(try connection.query("select $1::int + 1", [String(n)]).scalar == String(n + 1)) }
        let count = "select count(*) from pg_prepared_statements where statement = $1"
        #expect(try connection.query(count, ["select $1::int + 1"]).scalar == "1")
    }

    @Test func aStatementDroppedOrChangedUnderneathIsPreparedAgain() throws {
        let connection = PostgresConnection(conninfo: try testDatabaseURL())
        #expect(try connection.query("select 1").scalar == "1")
        try connection.execute(script: "deallocate all")
        #expect(try connection.query("select 1").scalar == "1")

        // A migration replacing a function with another result type.
        try connection.execute(script: "create function pg_temp.f() returns int language sql as 'select 1'")
        #expect(try connection.query("select pg_temp.f()").scalar == "1")
        try connection.execute(script: "drop function pg_temp.f(); create function pg_temp.f() returns text language sql as $$select 'x'$$")
        #expect(try connection.query("select pg_temp.f()").scalar == "x")
    }

    @Test func unreachableServerIsAConnectionError() {
        let connection = PostgresConnection(conninfo: "host=/nonexistent dbname=x connect_timeout=1")
        #expect {
            try connection.query("select 1")
        } throws: { error in
            if case .connection = error as? PostgresError { return true }
            return false
        }
    }

    @Test func reconnectsAfterTheServerDroppedAnIdleConnection() throws {
        let url = try testDatabaseURL()
        let victim = PostgresConnection(conninfo: url)
        let pid = try #require(try victim.query("select pg_backend_pid()").scalar)
        let admin = PostgresConnection(conninfo: url)
        #expect(try admin.query("select pg_terminate_backend($1::int)", [pid]).scalar == "t")
        Thread.sleep(forTimeInterval: 0.2)
        let newPid = try #require(try victim.query("select pg_backend_pid()").scalar)
        #expect(newPid != pid)
    }
}

@Suite(.serialized) struct MigratorTests {
    @Test func appliesInOrderOnceAndRollsBackAFailure() throws {
        let connection = PostgresConnection(conninfo: try testDatabaseURL())
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let table = "public.migrator_test_\(suffix)"
        let target = "public.migrator_target_\(suffix)"
        defer { _ = try? connection.execute(script: "drop table if exists \(table); drop table if exists \(target);") }
        let migrator = Migrator(connection: connection, table: table)
        let first = [
            Migrator.Migration(version: 2, name: "002_b.sql", sql: "insert into \(target) values (2);"),
            Migrator.Migration(version: 1, name: "001_a.sql", sql: "create table \(target) (n int);"),
        ]
        #expect(try migrator.migrate(first) == ["001_a.sql", "002_b.sql"])
        #expect(try migrator.migrate(first) == [])

        let broken = first + [Migrator.Migration(version: 3, name: "003_c.sql", sql: "insert into \(target) values (3); select 1/0;")]
        #expect(throws: PostgresError.self) { try migrator.migrate(broken) }
        #expect(try connection.query("select array_agg(n order by n)::text from \(target)").scalar == "{2}")
        #expect(try connection.query("select count(*) from \(table)").scalar == "2")
    }

    @Test func migrationNamesGiveTheirVersion() {
        #expect(Migrator.Migration(fileName: "007_views.sql", sql: "")?.version == 7)
        #expect(Migrator.Migration(fileName: "README.md", sql: "") == nil)
        #expect(Migrator.Migration(fileName: "x_views.sql", sql: "") == nil)
    }
}
