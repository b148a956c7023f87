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

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "agentlive.relay") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = environment[RelaySettings.Name.logLevel].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var configuration = try Relay.Configuration(environment: environment)
        configuration.host = host
        configuration.port = port
        try await Relay(configuration: configuration, logger: logger).run()
    }
}

