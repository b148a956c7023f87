import CLibPQ

/// One blocking libpq connection. A FastCGI worker handles one request at a time,
/// so it owns exactly one of these and never shares it between threads.
///
/// The connection heals itself: before each query it notices a server that went
/// away while the connection was idle (a restart) and reconnects, so a request
/// after a database restart succeeds instead of failing once.
///
/// Each distinct SQL text is prepared once per session and then only executed, so
/// PostgreSQL parses and plans it once instead of on every request (the API sends
/// a small fixed set of texts).
public final class LibPQConnection {
    private let conninfo: String
    private var handle: OpaquePointer?
    /// Server-side statement names by SQL text, valid for the current session only.
    private var statements: [String: String] = [:]
    private var statementsPrepared = 0

    /// `conninfo` is a libpq connection string or URI (`host=/run/pg dbname=x` or
    /// `postgresql://…`). Connecting is lazy: the first query connects.
    public init(conninfo: String) {
        self.conninfo = conninfo
    }

    deinit {
        PQfinish(handle)
    }

    /// Connects if needed; throws `.connection` when the server cannot be reached.
    public func ensureConnected() throws(PostgresError) {
        if let handle, PQstatus(handle) == CONNECTION_OK {
            // A server that restarted while we were idle has sent a FATAL and closed
            // the socket; reading what is pending reveals it without a round trip.
            // One read takes the FATAL message, the second sees the end of the stream.
            if PQconsumeInput(handle) == 1, PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK {
                return
            }
        }
        statements.removeAll()  // a new session knows none of them
        if let handle {
            PQreset(handle)
        } else {
            handle = PQconnectdb(conninfo)
        }
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw .connection(lastErrorMessage)
        }
    }

    /// Runs one statement with text parameters (`$1`, `$2`…) and returns its rows as text.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        try query(sql, parameters: parameters.map(PostgresParameter.init))
    }

    /// Runs one statement with parameters (`$1`, `$2`…) and returns its rows as text.
    @discardableResult
    public func query(_ sql: String, parameters: [PostgresParameter]) throws(PostgresError) -> PostgresRows {
        try ensureConnected()
        do {
            return try execute(sql, parameters)
        } catch {
            // The statement is gone or its result type changed (a migration replaced a
            // function): prepare it again. Inside a transaction the error has already
            // aborted it, so only a statement on its own can be retried.
            guard case .server(let state, let message, _) = error, Self.isStale(state, message) else { throw error }
            statements[sql] = nil
            guard PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try execute(sql, parameters)
        }
    }

    private static func isStale(_ state: String, _ message: String) -> Bool {
        state == "26000" || (state == "0A000" && message.hasPrefix("cached plan must not change result type"))
    }

    private func execute(_ sql: String, _ parameters: [PostgresParameter]) throws(PostgresError) -> PostgresRows {
        let name = try prepared(sql)
        let result = withLibPQValues(parameters) { values, lengths, formats in
            PQexecPrepared(handle, name, Int32(values.count), values, lengths, formats, 0)
        }
        return try rows(result)
    }

    /// The name of `sql` prepared in this session, preparing it on first use
    /// (parameter types are inferred from the text, as an unnamed statement's are).
    private func prepared(_ sql: String) throws(PostgresError) -> String {
        if let name = statements[sql] { return name }
        statementsPrepared += 1
        let name = "agentlive_\(statementsPrepared)"
        _ = try rows(PQprepare(handle, name, sql, 0, nil))
        statements[sql] = name
        return name
    }

    /// Takes ownership of `result`: its rows, or the error it carries.
    private func rows(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        defer { PQclear(result) }
        guard let result else { throw .connection(lastErrorMessage) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            return PostgresRows(result)
        default:
            throw failure(result)
        }
    }

    /// Runs a script of several statements (a migration) in one round trip.
    public func execute(script sql: String) throws(PostgresError) {
        try ensureConnected()
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        guard let result else { throw .connection(lastErrorMessage) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return
        default:
            throw failure(result)
        }
    }

    private var lastErrorMessage: String {
        guard let handle, let message = PQerrorMessage(handle) else { return "no connection" }
        return String(cString: message).trimmingSuffix(while: \.isNewline)
    }

    private func failure(_ result: OpaquePointer) -> PostgresError {
        guard PQstatus(handle) == CONNECTION_OK else { return .connection(lastErrorMessage) }
        // libpq's PG_DIAG_* field codes are character macros Swift does not import.
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        return .server(sqlState: field("C") ?? "XX000", message: field("M") ?? lastErrorMessage, detail: field("D"))
    }
}

/// The rows of one result, copied out of libpq's buffer.
public struct PostgresRows: Sendable, Equatable {
    public let columns: [String]
    public let rows: [[String?]]

    init(_ result: OpaquePointer) {
        let columnCount = PQnfields(result)
        columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        rows = (0..<PQntuples(result)).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1
                    ? nil : String(cString: PQgetvalue(result, row, column))
            }
        }
    }

    public init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The first column of the first row: what a `select f(…)` returns.
    public var scalar: String? { rows.first?.first ?? nil }
}

/// Calls `body` with the parameters as libpq takes them: values (NUL-terminated
/// text, or binary with its length), lengths and formats. A native String's UTF-8 is
/// already NUL-terminated, so `withCString` lends it without a copy, as arrays lend
/// their bytes: a 50 KB message batch is not duplicated on its way to libpq.
private func withLibPQValues<R>(
    _ parameters: [PostgresParameter], _ body: ([UnsafePointer<CChar>?], [Int32], [Int32]) -> R
) -> R {
    var values: [UnsafePointer<CChar>?] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    values.reserveCapacity(parameters.count)
    lengths.reserveCapacity(parameters.count)
    formats.reserveCapacity(parameters.count)
    func lend(from index: Int) -> R {
        guard index < parameters.count else { return body(values, lengths, formats) }
        func next(_ value: UnsafePointer<CChar>?, length: Int32 = 0, format: Int32 = 0) -> R {
            values.append(value)
            lengths.append(length)
            formats.append(format)
            return lend(from: index + 1)
        }
        switch parameters[index] {
        case .null:
            return next(nil)
        case .text(let string):
            return string.withCString { next($0) }
        case .binary(let bytes):
            return bytes.withUnsafeBytes { buffer in
                // libpq reads a null pointer as NULL: an empty value needs a real one.
                let empty = UnsafeRawPointer(("" as StaticString).utf8Start)
                return next((buffer.baseAddress ?? empty).assumingMemoryBound(to: CChar.self),
                            length: Int32(buffer.count), format: 1)
            }
        }
    }
    return lend(from: 0)
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var result = self
        while let last = result.last, predicate(last) { result.removeLast() }
        return result
    }
}
