import AgentLiveConnInfo
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The connections the relay's queries share (LISTEN has its own, in `EventPump`).
///
/// Each is opened through the connector on first use and again once it has
/// closed, so after the database moves (a failover, a restart) queries follow the
/// connection string to the server that suits it now. postgres-nio queues
/// concurrent queries on one connection, so a query waits for its turn on a
/// connection, not for a free one; queries are spread round-robin.
final class QueryConnections: Service, Sendable {
    private let slots: [QueryConnectionSlot]
    private let next = Atomic<Int>(0)

    init(connector: DatabaseConnector, count: Int, logger: Logger) {
        // Ids from 2: 1 is the LISTEN connection's.
        slots = (0..<max(count, 1)).map { QueryConnectionSlot(connector: connector, id: 2 + $0, logger: logger) }
    }

    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        let connection = try await slots[Int(index.magnitude % UInt(slots.count))].connection()
        return try await connection.query(query, logger: logger)
    }

    /// Waits for shutdown, then closes the connections.
    func run() async throws {
        try? await gracefulShutdown()
        for slot in slots { await slot.close() }
    }
}

/// One query connection: open, being opened (callers share the attempt), or not yet.
actor QueryConnectionSlot {
    private let connector: DatabaseConnector
    private let id: Int
    private let logger: Logger
    private var open: PostgresConnection?
    private var opening: Task<PostgresConnection, any Error>?
    /// The last failed attempt: for a moment its error is the answer, so queries
    /// that arrive while the database is away do not each try to connect.
    private var failure: (at: ContinuousClock.Instant, error: any Error)?
    private var closed = false
    static let failureMemory: Duration = .milliseconds(250)

    init(connector: DatabaseConnector, id: Int, logger: Logger) {
        self.connector = connector
        self.id = id
        self.logger = logger
    }

    func connection() async throws -> PostgresConnection {
        if let open, !open.isClosed { return open }
        open = nil
        if let opening { return try await opening.value }
        if let failure, ContinuousClock.now < failure.at + Self.failureMemory { throw failure.error }
        guard !closed else { throw CancellationError() }  // the relay is shutting down
        let (connector, id, logger) = (connector, id, logger)
        let attempt = Task {
            let (connection, endpoint) = try await connector.connect(id: id, logger: logger)
            logger.debug("query connection open", metadata: ["server": "\(endpoint)", "connection": "\(id)"])
            return connection
        }
        opening = attempt
        defer { opening = nil }
        do {
            let connection = try await attempt.value
            failure = nil
            open = connection
            return connection
        } catch {
            failure = (.now, error)
            logger.warning("query connection failed", metadata: ["error": "\(String(reflecting: error))"])
            throw error
        }
    }

    func close() async {
        closed = true
        if let open { try? await open.close() }
        open = nil
    }
}
