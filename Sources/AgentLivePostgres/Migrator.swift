/// Brings a database to the schema of an `sql/` folder, from any earlier install.
///
/// Two kinds of SQL, kept apart so that every install converges:
/// - migrations (`migrations/NNN_name.sql`): tables, columns, indexes, data. Applied
///   once each, in order, and recorded in `agentlive_migrations` with a SHA-256 of
///   the file; a recorded file that has changed since, or is gone, stops the run.
/// - definitions (`definitions/*.sql`): functions, views, triggers, grants. Dropped
///   and created again by every run, in file-name order, so no earlier body survives.
///
/// All of it is one transaction under an advisory lock: a failed run changes nothing,
/// and two runs at once take turns.
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
                prefix.allSatisfy(\.isASCII), let version = Int(prefix)
            else { return nil }
            self.init(version: version, name: fileName, sql: sql)
        }
    }

    /// A file of functions, views, triggers or grants, applied by every run.
    public struct Definition: Sendable, Equatable {
        public var name: String
        public var sql: String

        public init(name: String, sql: String) {
            self.name = name
            self.sql = sql
        }
    }

    public struct Report: Sendable, Equatable {
        /// The migrations this run applied, in order (empty when none was new).
        public var applied: [String]
        /// The definition files this run applied, in order.
        public var definitions: [String]
    }

    private let connection: LibPQConnection
    private let table: String
    private let schema: String
    private static let lockKey = "7419020317"  // arbitrary, constant: "agentlive migrations"

    /// `table` records what was applied and `schema` holds the definitions; tests name their own.
    public init(
        connection: LibPQConnection, table: String = "public.agentlive_migrations", schema: String = "agentlive"
    ) {
        self.connection = connection
        self.table = table
        self.schema = schema
    }

    public func migrate(_ migrations: [Migration], definitions: [Definition] = []) throws(MigrationError) -> Report {
        let migrations = migrations.sorted { $0.version < $1.version }
        for (earlier, later) in zip(migrations, migrations.dropFirst()) where earlier.version == later.version {
            throw .duplicateVersion(earlier.name, later.name)
        }
        do {
            try execute("set client_min_messages to warning; begin;")
            try query("select pg_advisory_xact_lock($1)", [Self.lockKey])
            try createLedger()
            try adoptLegacyInstall(first: migrations.first)
            let pending = try pendingMigrations(migrations)
            try dropDefinitions()
            var applied: [String] = []
            for migration in pending {
                try run(migration.sql, file: "migrations/\(migration.name)")
                try query(
                    "insert into \(table) (version, name, checksum) values ($1, $2, \(Self.checksum("$3")))",
                    [String(migration.version), migration.name, migration.sql])
                applied.append(migration.name)
            }
            let ordered = definitions.sorted { $0.name < $1.name }
            for definition in ordered {
                try run(definition.sql, file: "definitions/\(definition.name)")
            }
            try execute("commit;")
            return Report(applied: applied, definitions: ordered.map(\.name))
        } catch {
            _ = try? connection.execute(script: "rollback;")
            throw error
        }
    }

    private static func checksum(_ text: String) -> String { "encode(sha256(convert_to(\(text), 'UTF8')), 'hex')" }

    private func run(_ sql: String, file: String) throws(MigrationError) {
        do {
            try connection.execute(script: sql)
        } catch {
            throw .failed(file: file, error)
        }
    }

    /// The ledger's columns are added in the order they came, so a ledger made by
    /// an earlier version ends up exactly like a new one.
    private func createLedger() throws(MigrationError) {
        try execute("""
            create table if not exists \(table) (
                version integer primary key,
                name text not null,
                applied_at timestamptz not null default now()
            );
            alter table \(table) add column if not exists checksum text;
            """)
    }

    /// Installs made before checksums ran the files of one sql/ folder in which
    /// every table stood as it stands in migration 1 (login_failure included): their
    /// rows are replaced by migration 1, and the definitions are applied anew.
    private func adoptLegacyInstall(first: Migration?) throws(MigrationError) {
        let legacy = try scalar("select count(*) from \(table) where checksum is null")
        guard legacy != "0", let first else { return }
        let complete = try scalar(
            "select to_regclass('\(schema).task_message') is not null and to_regclass('\(schema).login_failure') is not null")
        guard complete == "t" else { throw .incompleteLegacyInstall }
        try query("delete from \(table) where checksum is null", [])
        try query(
            "insert into \(table) (version, name, checksum) values ($1, $2, \(Self.checksum("$3")))",
            [String(first.version), first.name, first.sql])
    }

    /// What is not applied yet, after checking that what was applied is unchanged.
    private func pendingMigrations(_ migrations: [Migration]) throws(MigrationError) -> [Migration] {
        let recorded = try query("select version, name, checksum from \(table) order by version", []).rows
        var byVersion: [Int: Migration] = [:]
        for migration in migrations { byVersion[migration.version] = migration }
        var applied = Set<Int>()
        for row in recorded {
            guard let version = row[0].flatMap({ Int($0) }), let name = row[1] else { continue }
            guard let migration = byVersion[version] else { throw .missingMigration(name) }
            let current = try scalar("select \(Self.checksum("$1"))", [migration.sql])
            guard migration.name == name, current == row[2] else { throw .changedMigration(name) }
            applied.insert(version)
        }
        return migrations.filter { !applied.contains($0.version) }
    }

    /// Drops every function, procedure, aggregate, view and trigger of the schema
    /// (triggers and views go with the functions they use), so that the definitions
    /// files alone say what exists. Refuses when a table, column default, index or
    /// constraint depends on one of them: dropping it would change data, not code.
    private func dropDefinitions() throws(MigrationError) {
        let owned = """
            select p.oid from pg_proc p
            where p.pronamespace = to_regnamespace('\(schema)')
              and not exists (select 1 from pg_depend e where e.classid = 'pg_proc'::regclass
                              and e.objid = p.oid and e.deptype = 'e')
            """
        let blocking = try query("""
            select pg_describe_object(d.classid, d.objid, d.objsubid) || ' uses ' || d.refobjid::regprocedure::text
            from pg_depend d
            where d.refclassid = 'pg_proc'::regclass and d.refobjid in (\(owned)) and d.deptype = 'n'
              and d.classid not in ('pg_proc'::regclass, 'pg_trigger'::regclass, 'pg_rewrite'::regclass)
            """, []).rows.compactMap { $0.first ?? nil }
        if !blocking.isEmpty { throw .definitionInUse(blocking) }
        try execute("""
            do $$
            declare r record;
            begin
                for r in select c.oid::regclass as name, c.relkind from pg_class c
                         where c.relnamespace = to_regnamespace('\(schema)') and c.relkind in ('v', 'm') loop
                    execute format('drop %s if exists %s cascade',
                                   case r.relkind when 'm' then 'materialized view' else 'view' end, r.name);
                end loop;
                for r in select p.oid::regprocedure as name, p.prokind from pg_proc p where p.oid in (\(owned)) loop
                    execute format('drop %s if exists %s cascade',
                                   case r.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
                                   r.name);
                end loop;
                for r in select t.tgname, t.tgrelid::regclass as relation from pg_trigger t
                         join pg_class c on c.oid = t.tgrelid
                         where c.relnamespace = to_regnamespace('\(schema)') and not t.tgisinternal loop
                    execute format('drop trigger %I on %s', r.tgname, r.relation);
                end loop;
            end $$;
            """)
    }

    private func execute(_ script: String) throws(MigrationError) {
        do { try connection.execute(script: script) } catch { throw .database(error) }
    }

    @discardableResult
    private func query(_ sql: String, _ parameters: [String?]) throws(MigrationError) -> PostgresRows {
        do { return try connection.query(sql, parameters) } catch { throw .database(error) }
    }

    private func scalar(_ sql: String, _ parameters: [String?] = []) throws(MigrationError) -> String? {
        try query(sql, parameters).scalar
    }
}

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    /// An applied migration's file differs from what was applied.
    case changedMigration(String)
    /// An applied migration has no file: this sql/ is older than the database.
    case missingMigration(String)
    case duplicateVersion(String, String)
    /// An install from before checksums that never finished its first migrations.
    case incompleteLegacyInstall
    /// Tables or constraints use a function of the definitions.
    case definitionInUse([String])
    /// A file failed to apply; nothing of the run was kept.
    case failed(file: String, PostgresError)
    case database(PostgresError)

    public var description: String {
        switch self {
        case .changedMigration(let name):
            return "migrations/\(name) was applied to this database and has changed since. "
                + "Applied migrations are never edited: restore the file and put the change in a new migration."
        case .missingMigration(let name):
            return "migrations/\(name) was applied to this database but is not in this SQL folder: "
                + "the folder is older than the database (use the SQL of the release that installed it, or newer)."
        case .duplicateVersion(let first, let second):
            return "migrations/\(first) and migrations/\(second) have the same number."
        case .incompleteLegacyInstall:
            return "This database was installed by an earlier version whose first migrations did not finish "
                + "(agentlive.task_message or agentlive.login_failure is missing): restore it from a backup, "
                + "or drop schema agentlive and table agentlive_migrations and migrate again."
        case .definitionInUse(let uses):
            return "Tables depend on functions of the definitions, which every run drops and creates again: "
                + uses.joined(separator: "; ")
        case .failed(let file, let error):
            return "\(file) failed, nothing was changed: \(error)"
        case .database(let error):
            return "database: \(error)"
        }
    }
}
