import AgentLiveConnInfo
import AgentLiveCredentials
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// The relay process: the WebSocket endpoint `/ws`, `/health`, the LISTEN pump,
/// the reaper and the database pool, run as one service group.
public struct Relay {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 8081
        /// Where `GET /metrics` is served (`MetricsServer`); no port: not served.
        /// The host must be loopback (`LoopbackAddress`).
        public var metricsHost = "127.0.0.1"
        public var metricsPort: Int?
        public var database: ConnectionOptions
        public var outboxLimits = ClientOutbox.Limits()
        public var reapInterval: Duration = .seconds(15)
        public var daemonTimeoutSeconds = 90
        /// Connections shared by the queries (LISTEN has one more of its own).
        public var queryConnections = 4
        /// The page's origin (`https://agentlive.example.com`), normalized; nil: the
        /// request's own scheme and Host.
        public var publicOrigin: String?

        public init(database: ConnectionOptions) {
            self.database = database
        }

        /// The settings in `environment` (see `RelaySettings.variables`). libpq reads
        /// its own `PG*` variables from the process environment.
        public init(environment: [String: String]) throws {
            typealias Name = RelaySettings.Name
            do {
                database = try ConnectionOptions(conninfo: environment[Name.databaseURL] ?? "")
            } catch {
                throw ConnectionOptions.Invalid("\(Name.databaseURL): \(error)")
            }
            func number(_ name: String) -> Int? { environment[name].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }
            daemonTimeoutSeconds = number(Name.daemonTimeout) ?? daemonTimeoutSeconds
            reapInterval = number(Name.reapInterval).map { .seconds($0) } ?? reapInterval
            outboxLimits.frames = number(Name.queueFrames) ?? outboxLimits.frames
            outboxLimits.bytes = number(Name.queueBytes) ?? outboxLimits.bytes
            queryConnections = number(Name.queryConnections) ?? queryConnections
            if let origin = environment[Name.publicOrigin], !origin.isEmpty {
                guard let normalized = PageOrigin.normalized(origin) else {
                    throw ConnectionOptions.Invalid("\(Name.publicOrigin): not an http(s) origin: \(origin)")
                }
                publicOrigin = normalized
            }
        }
    }

    public var configuration: Configuration
    public var logger: Logger
    public var metrics: RelayMetrics

    public init(configuration: Configuration, logger: Logger, metrics: RelayMetrics = RelayMetrics()) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    public struct NotLoopback: Error, CustomStringConvertible {
        public var host: String
        public init(host: String) { self.host = host }
        public var description: String {
            "\(host) is not a loopback address: the relay serves its metrics on loopback only "
                + "(127.0.0.1, ::1, localhost); scrape from the same machine"
        }
    }

    public func run() async throws {
        if configuration.metricsPort != nil, !LoopbackAddress.contains(configuration.metricsHost) {
            throw NotLoopback(host: configuration.metricsHost)
        }
        let connector = DatabaseConnector(options: configuration.database)
        logger.info("database", metadata: ["settings": "\(configuration.database.summary)"])
        let client = QueryConnections(connector: connector, count: configuration.queryConnections, logger: logger)
        let database = RelayDatabase(client: client, logger: logger)
        let hub = Hub(metrics: metrics)
        let pump = EventPump(connector: connector, database: database, hub: hub, logger: logger)
        let server = WebSocketServer(
            host: configuration.host, port: configuration.port,
            session: .init(hub: hub, directory: database, limits: configuration.outboxLimits, logger: logger),
            publicOrigin: configuration.publicOrigin,
            health: {
                let body = #"{"status":"\#(pump.isListening ? "ok" : "degraded")","listening":\#(pump.isListening),"connections":\#(hub.connectionCount)}"#
                return (pump.isListening ? .ok : .serviceUnavailable, body)
            },
            logger: logger)

        var metricsServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = configuration.metricsPort {
            let metrics = metrics
            metricsServices.append(.init(service: MetricsServer(
                host: configuration.metricsHost, port: port, render: { metrics.render(hub: hub) }, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: metricsServices + [
                    .init(service: client),
                    .init(service: pump),
                    .init(service: Reaper(database: database, interval: configuration.reapInterval,
                                          timeoutSeconds: configuration.daemonTimeoutSeconds, logger: logger)),
                    .init(service: server),
                    .init(service: ConnectionCounter(hub: hub, logger: logger)),
                    .init(service: DeadlineSweeper(hub: hub)),
                    .init(service: MemoryTrimmer(hub: hub)),
                    .init(service: GoingAway(hub: hub, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                logger: logger))
        try await group.run()
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

/// Enforces the clients' deadlines once a second (authentication, credentials that
/// expire, close handshakes), for all of them: cheaper than a timer task per connection.
struct DeadlineSweeper: Service {
    var hub: Hub

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while await sleep(.seconds(1)) { hub.checkDeadlines() }
        }
    }
}

/// Logs the number of WebSocket connections once a minute when it changed.
struct ConnectionCounter: Service {
    var hub: Hub
    var logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var last = -1
            repeat {
                let count = hub.connectionCount
                if count != last { logger.info("connections", metadata: ["count": "\(count)"]) }
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
