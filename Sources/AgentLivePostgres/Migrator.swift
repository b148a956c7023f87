/// Applies numbered SQL files (`001_schema.sql`, `002_…`) in order, each in its own
/// transaction, and records them in `agentlive_migrations` so a second run applies
/// nothing. An advisory lock keeps two concurrent runs from racing.
public struct Migrator {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var sql: String

        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }

        /// `007_task_views.sql` → version 7; nil for files that are not migrations.
        public init?(fileName: String, sql: String) {
            guard fileName.hasSuffix(".sql"),
                let prefix = fileName.split(separator: "_", maxSplits: 1).first,
                let version = Int(prefix)
            else { return nil }
            self.init(version: version, name: fileName, sql: sql)
        }
    }

    private let connection: PostgresConnection
    private let table: String
    private static let lockKey = "7419020317"  // arbitrary, constant: "agentlive migrations"

    /// `table` records what was applied; tests name their own.
    public init(connection: PostgresConnection, table: String = "public.agentlive_migrations") {
        self.connection = connection
        self.table = table
    }

    /// Returns the names of the migrations it applied (empty when up to date).
    @discardableResult
    public func migrate(_ migrations: [Migration]) throws(PostgresError) -> [String] {
        try connection.execute(
            script: """
                set client_min_messages to warning;
                create table if not exists \(table) (
                    version integer primary key,
                    name text not null,
                    applied_at timestamptz not null default now()
                );
                """)
        try connection.query("select pg_advisory_lock($1)", [Self.lockKey])
        defer { _ = try? connection.query("select pg_advisory_unlock($1)", [Self.lockKey]) }

        let applied = Set(
            try connection.query("select version from \(table)").rows
                .compactMap { $0.first.flatMap { $0 }.flatMap { Int($0) } })
        var done: [String] = []
        for migration in migrations.sorted(by: { $0.version < $1.version })
        where !applied.contains(migration.version) {
            do {
                try connection.execute(script: "begin;\n\(migration.sql)\n;")
                try connection.query(
                    "insert into \(table) (version, name) values ($1, $2)",
                    [String(migration.version), migration.name])
                try connection.execute(script: "commit;")
            } catch {
                _ = try? connection.execute(script: "rollback;")
                throw error
            }
            done.append(migration.name)
        }
        return done
    }
}
