import AgentLiveCredentials
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import CMalloc
#endif

/// The relay process: the WebSocket endpoint `/ws`, `/health`, the LISTEN pump,
/// the reaper and the database pool, run as one service group.
public struct Relay {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 8081
        public var database: ConnectionSettings
        public var outboxLimits = ClientOutbox.Limits()
        public var reapInterval: Duration = .seconds(15)
        public var daemonTimeoutSeconds = 90

        public init(database: ConnectionSettings) {
            self.database = database
        }

        /// `AGENTLIVE_DATABASE_URL`, `AGENTLIVE_DAEMON_TIMEOUT_SECONDS`, `AGENTLIVE_REAP_INTERVAL_SECONDS`,
        /// `AGENTLIVE_WS_QUEUE_FRAMES`, `AGENTLIVE_WS_QUEUE_BYTES`.
        public init(environment: [String: String]) throws {
            database = try ConnectionSettings(environment["AGENTLIVE_DATABASE_URL"] ?? "", environment: environment)
            func number(_ name: String) -> Int? { environment[name].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }
            daemonTimeoutSeconds = number("AGENTLIVE_DAEMON_TIMEOUT_SECONDS") ?? daemonTimeoutSeconds
            reapInterval = number("AGENTLIVE_REAP_INTERVAL_SECONDS").map { .seconds($0) } ?? reapInterval
            outboxLimits.frames = number("AGENTLIVE_WS_QUEUE_FRAMES") ?? outboxLimits.frames
            outboxLimits.bytes = number("AGENTLIVE_WS_QUEUE_BYTES") ?? outboxLimits.bytes
        }
    }

    public var configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let client = PostgresClient(configuration: poolConfiguration, backgroundLogger: logger)
        let database = RelayDatabase(client: client, logger: logger)
        let hub = Hub()
        let pump = EventPump(settings: configuration.database, database: database, hub: hub, logger: logger)
        let server = WebSocketServer(
            host: configuration.host, port: configuration.port,
            session: .init(hub: hub, directory: database, limits: configuration.outboxLimits, logger: logger),
            health: {
                let body = #"{"status":"\#(pump.isListening ? "ok" : "degraded")","listening":\#(pump.isListening),"connections":\#(hub.connectionCount)}"#
                return (pump.isListening ? .ok : .serviceUnavailable, body)
            },
            logger: logger)

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: client),
                    .init(service: pump),
                    .init(service: Reaper(database: database, interval: configuration.reapInterval,
                                          timeoutSeconds: configuration.daemonTimeoutSeconds, logger: logger)),
                    .init(service: server),
                    .init(service: ConnectionCounter(hub: hub, logger: logger)),
                    .init(service: DeadlineSweeper(hub: hub)),
                    .init(service: GoingAway(hub: hub, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                logger: logger))
        try await group.run()
    }

    private var poolConfiguration: PostgresClient.Configuration {
        let settings = configuration.database
        var pool: PostgresClient.Configuration
        if settings.host.hasPrefix("/") {
            pool = .init(unixSocketPath: "\(settings.host)/.s.PGSQL.\(settings.port)", username: settings.user,
                         password: settings.password, database: settings.database)
        } else {
            pool = .init(host: settings.host, port: settings.port, username: settings.user,
                         password: settings.password, database: settings.database, tls: .disable)
        }
        pool.options.maximumConnections = 8
        return pool
    }
}

/// On SIGTERM/SIGINT: close every client with 1001 (going away) so browsers
/// reconnect to another relay, give them a moment to go, then end the group.
struct GoingAway: Service {
    var hub: Hub
    var logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            logger.info("shutting down", metadata: ["connections": "\(hub.connectionCount)"])
            hub.closeAll(.goingAway, reason: "relay shutting down")
            for _ in 0..<30 where hub.connectionCount > 0 { try? await Task.sleep(for: .milliseconds(100)) }
            return
        }
    }
}

/// Enforces the clients' deadlines once a second, for all of them: cheaper than a
/// timer task per connection.
struct DeadlineSweeper: Service {
    var hub: Hub

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while await sleep(.seconds(1)) { hub.checkDeadlines() }
        }
    }
}

/// Logs the number of WebSocket connections once a minute when it changed. When
/// it is below the peak of the last minute, hands freed memory back: glibc keeps it
/// otherwise (a relay that held 20,000 connections stayed at 835 MiB after they had
/// all gone).
struct ConnectionCounter: Service {
    var hub: Hub
    var logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var last = -1
            repeat {
                let count = hub.connectionCount
                if count != last { logger.info("connections", metadata: ["count": "\(count)"]) }
                #if canImport(Glibc)
                if count < hub.takePeakConnections() { malloc_trim(0) }
                #endif
                last = count
            } while await sleep(.seconds(60))
        }
    }
}

/// Sleeps; false when cancelled (a service's loop then ends without an error,
/// which would otherwise fail the whole service group at shutdown).
func sleep(_ duration: Duration) async -> Bool {
    (try? await Task.sleep(for: duration)) != nil
}
