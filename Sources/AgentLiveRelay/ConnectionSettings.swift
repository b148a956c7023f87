import Foundation
import PostgresNIO

/// Where the database is, read from the same `AGENTLIVE_DATABASE_URL` the API
/// workers give to libpq: a `key=value` connection string or a `postgresql://` URI.
/// A host that starts with `/` is a Unix socket folder, as in libpq.
public struct ConnectionSettings: Equatable, Sendable {
    public var host = "/var/run/postgresql"
    public var port = 5432
    public var user: String
    public var password: String?
    public var database: String?

    public enum ParseError: Error, Equatable {
        case malformed(String)
    }

    public init(_ text: String, environment: [String: String] = [:]) throws(ParseError) {
        user = environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = environment["PGPASSWORD"]
        database = environment["PGDATABASE"]
        if let value = environment["PGHOST"] { host = value }
        if let value = environment["PGPORT"].flatMap(Int.init) { port = value }

        let options = text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
            ? try Self.uriOptions(text) : try Self.keywordOptions(text)
        for (key, value) in options {
            switch key {
            case "host": host = value
            case "port":
                guard let number = Int(value) else { throw .malformed("port \(value)") }
                port = number
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            default: continue  // libpq options the relay does not need
            }
        }
    }

    public var configuration: PostgresConnection.Configuration {
        if host.hasPrefix("/") {
            return .init(unixSocketPath: "\(host)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }

    /// `host=/run/pg port=5432 dbname='my db'`: values may be single-quoted with `\` escapes.
    static func keywordOptions(_ text: String) throws(ParseError) -> [(String, String)] {
        var options: [(String, String)] = []
        var rest = text[...]
        while true {
            rest = rest.drop { $0.isWhitespace }
            guard !rest.isEmpty else { return options }
            guard let equals = rest.firstIndex(of: "=") else { throw .malformed(String(rest)) }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, !key.contains(where: \.isWhitespace) else { throw .malformed(String(rest)) }
            rest = rest[rest.index(after: equals)...].drop { $0.isWhitespace }
            var value = ""
            if rest.first == "'" {
                rest = rest.dropFirst()
                var closed = false
                while let character = rest.popFirst() {
                    if character == "\\", let next = rest.popFirst() {
                        value.append(next)
                    } else if character == "'" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw .malformed("unterminated quote") }
            } else {
                let end = rest.firstIndex { $0.isWhitespace } ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            options.append((key, value))
        }
    }

    /// `postgresql://user:secret@host:5432/db?host=/run/pg`
    static func uriOptions(_ text: String) throws(ParseError) -> [(String, String)] {
        var rest = text[text.index(after: text.firstIndex(of: "/")!)...].dropFirst()
        var options: [(String, String)] = []
        var query = Substring()
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let name = rest[rest.index(after: slash)...]
            if !name.isEmpty { options.append(("dbname", percentDecoded(name))) }
        }
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            if !parts[0].isEmpty { options.append(("user", percentDecoded(parts[0]))) }
            if parts.count > 1 { options.append(("password", percentDecoded(parts[1]))) }
        }
        if !authority.isEmpty {
            let parts = authority.split(separator: ":", maxSplits: 1)
            if !parts[0].isEmpty { options.append(("host", percentDecoded(parts[0]))) }
            if parts.count > 1 { options.append(("port", String(parts[1]))) }
        }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw .malformed(String(pair)) }
            options.append((percentDecoded(parts[0]), percentDecoded(parts[1])))
        }
        return options
    }

    private static func percentDecoded(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }
}
