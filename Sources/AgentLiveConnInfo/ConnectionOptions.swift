/// A libpq connection string resolved the way libpq resolves it before connecting:
/// what the string says, else the `PG*` environment variable, else libpq's
/// compiled-in default (the OS user, port 5432, the socket folder); several hosts
/// for `host=a,b`, with one port for all or one port each.
///
/// `init(conninfo:)` (LibPQConnInfo.swift) lets libpq parse the text and supply the
/// defaults; this file holds the rules that turn them into endpoints, which libpq
/// applies inside `PQconnectdb` and does not export.
public struct ConnectionOptions: Equatable, Sendable {
    /// In the order libpq tries them.
    public var endpoints: [DatabaseEndpoint]
    public var user: String
    public var password: String?
    public var database: String
    public var targetSessionAttributes: TargetSessionAttributes
    /// `connect_timeout` in seconds, per host (libpq waits at least 2 s); nil: not set.
    public var connectTimeoutSeconds: Int?
    public var applicationName: String?
    /// libpq's `sslmode`: disable, allow, prefer (its default), require, verify-ca, verify-full.
    public var sslMode: String

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// `given`: the options the string set (an empty value counts as set, as in
    /// libpq); `defaults`: libpq's default for each option (environment, then
    /// compiled-in); `socketDirectory`: where libpq looks when no host is given.
    public init(given: [String: String], defaults: [String: String], socketDirectory: String) throws(Invalid) {
        func value(_ key: String) -> String? { given[key] ?? defaults[key] }
        func list(_ key: String) -> [String] {
            guard let text = value(key), !text.isEmpty else { return [] }
            return text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }

        let hosts = list("host"), addresses = list("hostaddr")
        if !hosts.isEmpty, !addresses.isEmpty, hosts.count != addresses.count {
            throw Invalid("could not match \(hosts.count) host names to \(addresses.count) hostaddr values")
        }
        let count = max(hosts.count, addresses.count, 1)
        let ports = list("port")
        guard ports.count <= 1 || ports.count == count else {
            throw Invalid("could not match \(ports.count) port numbers to \(count) hosts")
        }
        endpoints = try (0..<count).map { (i: Int) throws(Invalid) -> DatabaseEndpoint in
            let portText = ports.isEmpty ? "" : ports[ports.count == 1 ? 0 : i].trimmingSpaces
            let port: Int
            if portText.isEmpty {
                port = Int(defaults["port"] ?? "") ?? 5432
            } else {
                guard let number = Int(portText), (1...65535).contains(number) else {
                    throw Invalid("invalid port number: \"\(portText)\"")
                }
                port = number
            }
            let host = i < hosts.count ? hosts[i] : ""
            let address = i < addresses.count && !addresses[i].isEmpty ? addresses[i] : nil
            // No host and no address: the compiled-in socket folder.
            return DatabaseEndpoint(host: host.isEmpty ? (address ?? socketDirectory) : host, address: address, port: port)
        }

        guard let user = value("user"), !user.isEmpty else { throw Invalid("no user name: set user= or PGUSER") }
        self.user = user
        password = value("password").flatMap { $0.isEmpty ? nil : $0 }
        // libpq: the database defaults to the user name.
        database = value("dbname").flatMap { $0.isEmpty ? nil : $0 } ?? user

        let attributes = value("target_session_attrs").flatMap { $0.isEmpty ? nil : $0 } ?? "any"
        guard let target = TargetSessionAttributes(rawValue: attributes) else {
            throw Invalid("invalid target_session_attrs value: \"\(attributes)\"")
        }
        targetSessionAttributes = target

        if let text = value("connect_timeout"), !text.isEmpty {
            guard let seconds = Int(text.trimmingSpaces) else { throw Invalid("invalid connect_timeout value: \"\(text)\"") }
            // libpq: zero or less waits forever; below 2 s means 2 s.
            connectTimeoutSeconds = seconds <= 0 ? nil : max(seconds, 2)
        } else {
            connectTimeoutSeconds = nil
        }
        applicationName = value("application_name").flatMap { $0.isEmpty ? nil : $0 }
        sslMode = value("sslmode").flatMap { $0.isEmpty ? nil : $0 } ?? "prefer"
        guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw Invalid("invalid sslmode value: \"\(sslMode)\"")
        }
    }

    /// The string as a reader may see it: every setting but the password.
    public var summary: String {
        let hosts = endpoints.map(\.description).joined(separator: ", ")
        return "\(hosts), user \"\(user)\", database \"\(database)\", target_session_attrs=\(targetSessionAttributes.rawValue)"
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
