import AgentLiveDaemon
import ArgumentParser
import Foundation
import Logging

/// Settings come from, in order of precedence: flags, AGENTLIVE_* environment
/// variables, then a JSON config file (`--config`, AGENTLIVE_DAEMON_CONFIG, or
/// ~/.config/agentlive/daemon.json) with the same names in snake_case.
@main
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentlive-daemon",
        abstract: "Runs an AI coding agent for AgentLive tasks and streams what it does to the server.")

    enum RuntimeKind: String, ExpressibleByArgument, CaseIterable, Decodable {
        case claude, codex, command, replay
    }

    @Option(help: "Server URL, e.g. https://agentlive.example.com (AGENTLIVE_SERVER).") var server: String?
    @Option(help: "Daemon token (AGENTLIVE_TOKEN); prefer --token-file, which keeps it out of `ps`.") var token: String?
    @Option(help: "File holding the daemon token (AGENTLIVE_TOKEN_FILE).") var tokenFile: String?
    @Option(help: "The agent's id (AGENTLIVE_AGENT).") var agent: String?
    @Option(help: "claude, codex, command or replay (AGENTLIVE_RUNTIME).") var runtime: RuntimeKind?
    @Option(help: "Command line for the command runtime (AGENTLIVE_COMMAND).") var command: String?
    @Option(help: "Recorded session for the replay runtime (AGENTLIVE_SESSION).") var session: String?
    @Option(help: "Replay speed factor (AGENTLIVE_SPEED).") var speed: Double?
    @Option(help: "Tasks run at once (AGENTLIVE_MAX_TASKS).") var maxTasks: Int?
    @Option(help: "Folder for the tasks' working folders (AGENTLIVE_WORK_DIR).") var workDir: String?
    @Option(help: "Folder for the daemon's id (AGENTLIVE_STATE_DIR).") var stateDir: String?
    @Option(help: "Extra redaction pattern (regular expression); repeatable.") var redact: [String] = []
    @Option(help: "JSON config file.") var config: String?
    @Option(help: "Seconds between heartbeats.") var heartbeatInterval: Double = 10
    @Option(help: "Seconds between claims while nothing is queued.") var pollInterval: Double = 1
    @Flag(help: "Handle one task, then exit.") var once = false

    struct FileSettings: Decodable {
        var server, token, tokenFile, agent, command, session: String?
        var runtime: RuntimeKind?
        var speed: Double?
        var maxTasks: Int?
        var workDir, stateDir: String?
        var redact: [String]?

        enum CodingKeys: String, CodingKey {
            case server, token, agent, command, session, runtime, speed, redact
            case maxTasks = "max_tasks", workDir = "work_dir", stateDir = "state_dir", tokenFile = "token_file"
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        // Logged values come from the server and the agent: escaped, so none forges a line.
        var logger = Logger(label: "agentlive.daemon") { EscapingLogHandler(StreamLogHandler.standardError(label: $0)) }
        logger.logLevel = environment["AGENTLIVE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        let file = try loadFile(config ?? environment["AGENTLIVE_DAEMON_CONFIG"] ?? "\(home)/.config/agentlive/daemon.json",
                                required: config != nil)

        func pick(_ flag: String?, _ variable: String, _ fromFile: String?) -> String? {
            flag ?? environment[variable] ?? fromFile
        }
        guard let server = pick(server, "AGENTLIVE_SERVER", file.server),
            let token = try pick(token, "AGENTLIVE_TOKEN", file.token)
                ?? pick(tokenFile, "AGENTLIVE_TOKEN_FILE", file.tokenFile).map(readToken),
            let agent = pick(agent, "AGENTLIVE_AGENT", file.agent)
        else { throw ValidationError("--server, --token and --agent are required (or AGENTLIVE_SERVER, AGENTLIVE_TOKEN, AGENTLIVE_AGENT)") }
        let kind = runtime ?? environment["AGENTLIVE_RUNTIME"].flatMap(RuntimeKind.init(rawValue:)) ?? file.runtime ?? .claude
        let stateDir = URL(fileURLWithPath: pick(stateDir, "AGENTLIVE_STATE_DIR", file.stateDir) ?? "\(home)/.local/state/agentlive")
        let workDir = URL(fileURLWithPath: pick(workDir, "AGENTLIVE_WORK_DIR", file.workDir) ?? stateDir.appendingPathComponent("work").path)

        let agentRuntime: any AgentRuntime
        switch kind {
        case .claude: agentRuntime = ProcessRuntime.claude(partialMessages: await RuntimeDetection.claudeSupportsPartialMessages())
        case .codex: agentRuntime = ProcessRuntime.codex()
        case .command:
            guard let command = pick(command, "AGENTLIVE_COMMAND", file.command) else { throw ValidationError("--command is required for the command runtime") }
            agentRuntime = ProcessRuntime.command(command)
        case .replay:
            guard let session = pick(session, "AGENTLIVE_SESSION", file.session) else { throw ValidationError("--session is required for the replay runtime") }
            let speed = speed ?? environment["AGENTLIVE_SPEED"].flatMap(Double.init) ?? file.speed ?? 1
            agentRuntime = ReplayRuntime(session: URL(fileURLWithPath: session), speed: speed)
        }

        let identity = DaemonIdentity(stateDirectory: stateDir, server: server, token: token)
        var settings = Daemon.Settings(daemonID: try identity.load(), agentID: agent)
        settings.newDaemonID = { try identity.renew() }
        settings.maxTasks = maxTasks ?? environment["AGENTLIVE_MAX_TASKS"].flatMap(Int.init) ?? file.maxTasks ?? 1
        settings.once = once
        settings.heartbeatInterval = .milliseconds(Int(heartbeatInterval * 1000))
        settings.pollInterval = .milliseconds(Int(pollInterval * 1000))
        settings.runtimes = await RuntimeDetection.detect()
        let redactor = try Redactor(extraPatterns: redact + (file.redact ?? []))
        try await Daemon(
            settings: settings, api: HTTPDaemonAPI(server: server, token: token), runtime: agentRuntime,
            workRoot: workDir, redactor: redactor, logger: logger
        ).run()
    }

    private func readToken(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func loadFile(_ path: String, required: Bool) throws -> FileSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required { throw ValidationError("cannot read \(path)") }
            return FileSettings()
        }
        return try JSONDecoder().decode(FileSettings.self, from: data)
    }
}
