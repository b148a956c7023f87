import AgentLivePostgres
import Foundation
import Testing

/// These run against the real PostgreSQL of `deploy/dev/stack test`, which exports
/// AGENTLIVE_TEST_DATABASE_URL; without it they fail rather than pass vacuously.
func testDatabaseURL() throws -> String {
    try #require(ProcessInfo.processInfo.environment["AGENTLIVE_TEST_DATABASE_URL"], "run through deploy/dev/stack test")
}

@Suite(.serialized) struct LibPQConnectionTests {
    @Test func parametersAndNullsRoundTrip() throws {
        let connection = LibPQConnection(conninfo: try testDatabaseURL())
        let rows = try connection.query("select $1::text as a, $2::int + 1 as b, $3::text as c", ["héllo ✓", "41", nil])
        #expect(rows.columns == ["a", "b", "c"])
        #expect(rows.rows == [["héllo ✓", "42", nil]])
    }

    /// Binary values reach the server as their type, next to text ones: bytes with
    /// a NUL, an empty value that is not NULL, an array in array_recv's form.
    @Test func binaryParametersArriveAsTheirType() throws {
        let connection = LibPQConnection(conninfo: try testDatabaseURL())
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
        let connection = LibPQConnection(conninfo: try testDatabaseURL())
        #expect(throws: PostgresError.server(sqlState: "AL409", message: "task_not_active", detail: "It ended.")) {
            try connection.query("select agentlive.api_error(409, 'task_not_active', 'It ended.')")
        }
        // The connection is still usable after an error.
        #expect(try connection.query("select 1").scalar == "1")
    }

    @Test func eachTextIsPreparedOncePerSession() throws {
        let connection = LibPQConnection(conninfo: try testDatabaseURL())
        for n in 1...3 { #expect(try connection.query("select $1::int + 1", [String(n)]).scalar == String(n + 1)) }
        let count = "select count(*) from pg_prepared_statements where statement = $1"
        #expect(try connection.query(count, ["select $1::int + 1"]).scalar == "1")
    }

    @Test func aStatementDroppedOrChangedUnderneathIsPreparedAgain() throws {
        let connection = LibPQConnection(conninfo: try testDatabaseURL())
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
        let connection = LibPQConnection(conninfo: "host=/nonexistent dbname=x connect_timeout=1")
        #expect {
            try connection.query("select 1")
        } throws: { error in
            if case .connection = error as? PostgresError { return true }
            return false
        }
    }

    @Test func reconnectsAfterTheServerDroppedAnIdleConnection() throws {
        let url = try testDatabaseURL()
        let victim = LibPQConnection(conninfo: url)
        let pid = try #require(try victim.query("select pg_backend_pid()").scalar)
        let admin = LibPQConnection(conninfo: url)
        #expect(try admin.query("select pg_terminate_backend($1::int)", [pid]).scalar == "t")
        Thread.sleep(forTimeInterval: 0.2)
        let newPid = try #require(try victim.query("select pg_backend_pid()").scalar)
        #expect(newPid != pid)
    }
}

/// Each test works in a schema and ledger of its own, dropped at the end.
private struct Scratch {
    let connection: LibPQConnection
    let schema: String
    let table: String
    let migrator: Migrator

    init() throws {
        connection = LibPQConnection(conninfo: try testDatabaseURL())
        let suffix = UUID().uuidString.prefix(8).lowercased()
        schema = "migrator_\(suffix)"
        table = "public.migrator_ledger_\(suffix)"
        try connection.execute(script: "create schema \(schema);")
        migrator = Migrator(connection: connection, table: table, schema: schema)
    }

    func drop() {
        _ = try? connection.execute(script: "drop schema if exists \(schema) cascade; drop table if exists \(table);")
    }

    func migration(_ version: Int, _ sql: String) -> Migrator.Migration {
        Migrator.Migration(version: version, name: String(format: "%03d_m.sql", version), sql: sql)
    }

    func scalar(_ sql: String) throws -> String? { try connection.query(sql).scalar }
}

@Suite(.serialized) struct MigratorTests {
    @Test("Migrations apply in order, once each, and a failing run keeps nothing of itself")
    func appliesInOrderOnceAndRollsBackAFailure() throws {
        let db = try Scratch()
        defer { db.drop() }
        let first = [
            db.migration(2, "insert into \(db.schema).t values (2);"),
            db.migration(1, "create table \(db.schema).t (n int);"),
        ]
        let definitions = [Migrator.Definition(name: "a.sql", sql: "create function \(db.schema).f() returns int language sql as 'select 1';")]
        #expect(try db.migrator.migrate(first, definitions: definitions).applied == ["001_m.sql", "002_m.sql"])
        #expect(try db.migrator.migrate(first, definitions: definitions).applied == [])

        let broken = first + [db.migration(3, "insert into \(db.schema).t values (3); select 1/0;")]
        let changed = [Migrator.Definition(name: "a.sql", sql: "create function \(db.schema).f() returns int language sql as 'select 2';")]
        #expect(throws: MigrationError.self) { try db.migrator.migrate(broken, definitions: changed) }
        #expect(try db.scalar("select array_agg(n order by n)::text from \(db.schema).t") == "{2}")
        #expect(try db.scalar("select count(*) from \(db.table)") == "2")
        #expect(try db.scalar("select \(db.schema).f()") == "1", "the definitions of the failed run were rolled back too")
    }

    @Test("Every run drops the definitions and applies the files anew, so nothing older survives")
    func definitionsConverge() throws {
        let db = try Scratch()
        defer { db.drop() }
        let tables = [db.migration(1, "create table \(db.schema).t (n int); create table \(db.schema).log (n int);")]
        let old = [
            Migrator.Definition(name: "10_f.sql", sql: """
                create function \(db.schema).f() returns int language sql as 'select 1';
                create function \(db.schema).gone(x int) returns int language sql as 'select x';
                create view \(db.schema).v as select \(db.schema).f() as n;
                create function \(db.schema).on_insert() returns trigger language plpgsql as
                    'begin insert into \(db.schema).log values (new.n); return null; end';
                create trigger t_insert after insert on \(db.schema).t for each row execute function \(db.schema).on_insert();
                """),
        ]
        try db.migrator.migrate(tables, definitions: old)
        try db.connection.execute(script: "insert into \(db.schema).t values (7);")
        #expect(try db.scalar("select count(*) from \(db.schema).log") == "1")

        let new = [Migrator.Definition(name: "10_f.sql", sql: "create function \(db.schema).f() returns int language sql as 'select 2';")]
        try db.migrator.migrate(tables, definitions: new)
        #expect(try db.scalar("select \(db.schema).f()") == "2")
        #expect(try db.scalar("select to_regprocedure('\(db.schema).gone(integer)') is null") == "t")
        #expect(try db.scalar("select to_regclass('\(db.schema).v') is null") == "t")
        try db.connection.execute(script: "insert into \(db.schema).t values (8);")
        #expect(try db.scalar("select count(*) from \(db.schema).log") == "1", "the trigger is gone with its definition")
        #expect(try db.scalar("select count(*) from \(db.schema).t") == "2", "tables keep their rows")
    }

    @Test("An applied migration that was edited, or is gone, stops the run and names the file")
    func editedMigrationsAreRefused() throws {
        let db = try Scratch()
        defer { db.drop() }
        try db.migrator.migrate([db.migration(1, "create table \(db.schema).t (n int);")])
        #expect(throws: MigrationError.changedMigration("001_m.sql")) {
            try db.migrator.migrate([db.migration(1, "create table \(db.schema).t (n bigint);")])
        }
        #expect(throws: MigrationError.missingMigration("001_m.sql")) {
            try db.migrator.migrate([db.migration(2, "select 1;")])
        }
        #expect("\(MigrationError.changedMigration("001_m.sql"))".contains("migrations/001_m.sql"))
        #expect(try db.scalar("select count(*) from \(db.table)") == "1")
    }

    @Test("An install from before checksums is taken as migration 1 and converges")
    func legacyLedgersAreAdopted() throws {
        let db = try Scratch()
        defer { db.drop() }
        let tables = "create table \(db.schema).task_message (n int); create table \(db.schema).login_failure (n int);"
        try db.connection.execute(script: """
            \(tables)
            create table \(db.table) (version integer primary key, name text not null,
                                       applied_at timestamptz not null default now());
            insert into \(db.table) (version, name) values (1, '001_schema.sql'), (2, '002_json.sql'), (10, '010_x.sql');
            create function \(db.schema).old_body() returns int language sql as 'select 1';
            """)
        let report = try db.migrator.migrate(
            [db.migration(1, tables), db.migration(2, "alter table \(db.schema).task_message add column m int;")],
            definitions: [])
        #expect(report.applied == ["002_m.sql"])
        #expect(try db.scalar("select string_agg(name, ',' order by version) from \(db.table) where checksum is not null") == "001_m.sql,002_m.sql")
        #expect(try db.scalar("select to_regprocedure('\(db.schema).old_body()') is null") == "t")
    }

    @Test("A table that uses a definition's function stops the run before anything is dropped")
    func definitionsUsedByTablesAreRefused() throws {
        let db = try Scratch()
        defer { db.drop() }
        let definitions = [Migrator.Definition(name: "f.sql", sql: "create function \(db.schema).one() returns int language sql as 'select 1';")]
        try db.migrator.migrate([db.migration(1, "select 1;")], definitions: definitions)
        try db.connection.execute(script: "create table \(db.schema).t (n int default \(db.schema).one());")
        #expect(throws: MigrationError.self) { try db.migrator.migrate([db.migration(1, "select 1;")], definitions: definitions) }
        #expect(try db.scalar("select column_default from information_schema.columns where table_schema = '\(db.schema)'") != nil)
    }

    @Test func migrationNamesGiveTheirVersion() {
        #expect(Migrator.Migration(fileName: "007_views.sql", sql: "")?.version == 7)
        #expect(Migrator.Migration(fileName: "README.md", sql: "") == nil)
        #expect(Migrator.Migration(fileName: "x_views.sql", sql: "") == nil)
    }
}
