/// One server of a connection string: a Unix socket folder or a TCP host, and a port.
public struct DatabaseEndpoint: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `host` as written (or libpq's default): a folder when it starts with `/`.
    public var host: String
    /// `hostaddr`: the numeric address to connect to instead of resolving `host`.
    public var address: String?
    public var port: Int

    public init(host: String, address: String? = nil, port: Int) {
        self.host = host
        self.address = address
        self.port = port
    }

    /// libpq's rule: an absolute path (or `@`, Linux's abstract namespace) is a socket folder.
    public var isSocket: Bool { address == nil && (host.hasPrefix("/") || host.hasPrefix("@")) }

    /// The socket file libpq opens in that folder.
    public var socketPath: String? { isSocket ? "\(host)/.s.PGSQL.\(port)" : nil }

    /// How libpq names it in its errors: `socket "/run/postgresql/.s.PGSQL.5432"`,
    /// `host "db1" port 5432`, `host "db1" (10.0.0.5) port 5432`.
    public var description: String {
        if let socketPath { return "socket \"\(socketPath)\"" }
        let at = address.map { $0 == host ? "" : " (\($0))" } ?? ""
        return "host \"\(host)\"\(at) port \(port)"
    }
}

/// libpq's `target_session_attrs`: which of the servers a connection may use.
public enum TargetSessionAttributes: String, CaseIterable, Sendable {
    case any
    case readWrite = "read-write"
    case readOnly = "read-only"
    case primary
    case standby
    /// A standby if any answers, otherwise any server.
    case preferStandby = "prefer-standby"

    /// Whether a server in this state will do. `prefer-standby` takes a standby here;
    /// its fallback to any server is a second pass over the list (`passes`).
    public func accepts(inRecovery: Bool, readOnly: Bool) -> Bool {
        switch self {
        case .any: true
        case .readWrite: !inRecovery && !readOnly
        case .readOnly: inRecovery || readOnly
        case .primary: !inRecovery
        case .standby, .preferStandby: inRecovery
        }
    }

    /// What each pass over the hosts asks for, in order.
    public var passes: [TargetSessionAttributes] {
        self == .preferStandby ? [.preferStandby, .any] : [self]
    }

    /// Whether a server's state must be asked after connecting.
    public var needsServerState: Bool { self != .any }
}
