#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An `sql/` folder as shipped and installed: numbered files in `migrations/`,
/// re-applied files in `definitions/` (see `Migrator`).
public struct SQLFolder: Sendable {
    public var migrations: [Migrator.Migration]
    public var definitions: [Migrator.Definition]

    public init(migrations: [Migrator.Migration], definitions: [Migrator.Definition]) {
        self.migrations = migrations
        self.definitions = definitions
    }

    public enum LoadError: Error, CustomStringConvertible {
        case missing(path: String)
        case unreadable(path: String, reason: String)
        case notAMigration(path: String)

        public var description: String {
            switch self {
            case .missing(let path):
                return "no SQL folder at \(path): it must hold migrations/ and definitions/ (the sql/ folder of the release)"
            case .unreadable(let path, let reason):
                return "cannot read \(path): \(reason)"
            case .notAMigration(let path):
                return "\(path) is not named like a migration (NNN_name.sql)"
            }
        }
    }

    /// Reads `path/migrations/*.sql` and `path/definitions/*.sql`; other files are ignored.
    public static func load(path: String) throws(LoadError) -> SQLFolder {
        let migrations = try files(in: path, "migrations").map { (name, sql) throws(LoadError) in
            guard let migration = Migrator.Migration(fileName: name, sql: sql) else {
                throw .notAMigration(path: "\(path)/migrations/\(name)")
            }
            return migration
        }
        let definitions = try files(in: path, "definitions").map { Migrator.Definition(name: $0.0, sql: $0.1) }
        return SQLFolder(migrations: migrations, definitions: definitions)
    }

    private static func files(in root: String, _ subfolder: String) throws(LoadError) -> [(String, String)] {
        let folder = "\(root)/\(subfolder)"
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory else {
            throw .missing(path: root)
        }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
                .map { name in (name, try String(contentsOfFile: folder + "/" + name, encoding: .utf8)) }
        } catch {
            throw .unreadable(path: folder, reason: "\(error)")
        }
    }
}
