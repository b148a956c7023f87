import AgentLiveRelay
import ArgumentParser
import Foundation
import Logging

@main
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentlive-relay",
        abstract: "Pushes AgentLive task events from PostgreSQL NOTIFY to browsers over WebSocket.",
        discussion: RelaySettings.help)

    @Option(help: "Address to listen on (loopback: nginx proxies /ws here).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8081

    @Option(help: "Serve Prometheus metrics at GET /metrics on this port (loopback only; never through nginx).")
    var metricsPort: Int?

    @Option(help: ArgumentHelp(
        "Serve the metrics on --port plus this (agentlive-relay@.service: 1000, so 8081 -> 9081).",
        valueName: "offset"))
    var metricsPortOffset: Int?

    @Option(help: "Loopback address for the metrics (127.0.0.1, ::1 or localhost).")
    var metricsHost = "127.0.0.1"

    func validate() throws {
        if metricsPort != nil && metricsPortOffset != nil {
            throw ValidationError("give --metrics-port or --metrics-port-offset, not both")
        }
        if let metrics = resolvedMetricsPort, !(1...65535).contains(metrics) {
            throw ValidationError("the metrics port \(metrics) is not between 1 and 65535")
        }
        if !LoopbackAddress.contains(metricsHost) {
            throw ValidationError("--metrics-host: \(Relay.NotLoopback(host: metricsHost))")
        }
    }

    var resolvedMetricsPort: Int? { metricsPort ?? metricsPortOffset.map { port + $0 } }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "agentlive.relay") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = environment[RelaySettings.Name.logLevel].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var configuration = try Relay.Configuration(environment: environment)
        configuration.host = host
        configuration.port = port
        configuration.metricsHost = metricsHost
        configuration.metricsPort = resolvedMetricsPort
        let metrics = RelayMetrics()
        metrics.bootstrapMetricsSystem()
        try await Relay(configuration: configuration, logger: logger, metrics: metrics).run()
    }
}

