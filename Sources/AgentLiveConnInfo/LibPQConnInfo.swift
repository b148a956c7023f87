import CLibPQ

extension ConnectionOptions {
    /// Reads a connection string (`host=a,b port=5432 dbname=x` or
    /// `postgresql://h1:5432,h2:5433/x?target_session_attrs=read-write`) with libpq
    /// itself, so every process of AgentLive reads it the same way: libpq parses it
    /// (`PQconninfoParse`) and supplies what it leaves out (`PQconndefaults`: the
    /// `PG*` environment variables, the OS user, port 5432, the socket folder).
    public init(conninfo: String) throws(Invalid) {
        let given = try LibPQ.parse(conninfo), defaults = LibPQ.defaults()
        // A service file (`service=` or PGSERVICE) holds options libpq would read there.
        if let service = given["service"] ?? defaults["service"], !service.isEmpty {
            throw Invalid("service=\(service): service files are not read; write its options into the connection string")
        }
        try self.init(given: given, defaults: defaults, socketDirectory: LibPQ.socketDirectory)
    }
}

/// The parts of libpq that read connection strings.
public enum LibPQ {
    /// The options `conninfo` sets, by keyword. libpq's own error (an unknown
    /// option, a malformed URI) otherwise.
    public static func parse(_ conninfo: String) throws(ConnectionOptions.Invalid) -> [String: String] {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            defer { PQfreemem(error) }
            let message = error.map { String(cString: $0) } ?? "out of memory"
            throw ConnectionOptions.Invalid(message.trimmingNewlines)
        }
        defer { PQconninfoFree(options) }
        return values(options)
    }

    /// libpq's default for every option that has one: its environment variable
    /// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGTARGETSESSIONATTRS…), else
    /// its compiled-in value; the OS user for `user`.
    public static func defaults() -> [String: String] {
        guard let options = PQconndefaults() else { return [:] }
        defer { PQconninfoFree(options) }
        return values(options)
    }

    /// The folder libpq connects to when no host is given (Debian's libpq:
    /// /var/run/postgresql). libpq fills it in while it sets up a connection and has
    /// no call that returns it: a set-up that stops at an invalid sslmode (after
    /// the hosts are filled in, before any socket is opened) still names it.
    public static let socketDirectory: String = {
        guard let connection = PQconnectStart("host='' hostaddr='' sslmode=not-a-mode") else { return "/tmp" }
        defer { PQfinish(connection) }
        let host = PQhost(connection).map { String(cString: $0) } ?? ""
        return host.isEmpty ? "/tmp" : host
    }()

    private static func values(_ options: UnsafeMutablePointer<PQconninfoOption>) -> [String: String] {
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { result[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return result
    }
}

extension String {
    fileprivate var trimmingNewlines: String {
        var text = self
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}
