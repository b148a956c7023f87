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
        abstract: "Runs an AI coding agent for AgentLive tasks and streams what it does to the server.",
        subcommands: [Doctor.self])

    enum RuntimeKind: String, ExpressibleByArgument, CaseIterable, Decodable {
        case claude, codex, gemini, opencode, command, replay
    }

    @Option(help: "Server URL, e.g. https://agentlive.example.com (AGENTLIVE_SERVER).") var server: String?
    @Option(help: "Daemon token (AGENTLIVE_TOKEN); prefer --token-file, which keeps it out of `ps`.") var token: String?
    @Option(help: "File holding the daemon token (AGENTLIVE_TOKEN_FILE).") var tokenFile: String?
    @Option(help: "The agent's id (AGENTLIVE_AGENT).") var agent: String?
    @Option(help: "claude, codex, gemini, opencode, command or replay (AGENTLIVE_RUNTIME).") var runtime: RuntimeKind?
    @Option(help: "Command line for the command runtime, or the agent CLI's program (AGENTLIVE_COMMAND).") var command: String?
    @Option(help: "Model for the agent CLI (its --model).") var model: String?
    @Option(help: "Recorded session for the replay runtime (AGENTLIVE_SESSION).") var session: String?
    @Option(help: "Replay speed factor (AGENTLIVE_SPEED).") var speed: Double?
    @Option(help: "Tasks run at once (AGENTLIVE_MAX_TASKS).") var maxTasks: Int?
    @Option(help: "Folder for the tasks' working folders (AGENTLIVE_WORK_DIR).") var workDir: String?
    @Option(help: "Folder for the daemon's id (AGENTLIVE_STATE_DIR).") var stateDir: String?
    @Option(help: "Extra redaction pattern (regular expression); repeatable.") var redact: [String] = []
    @Option(help: "JSON config file.") var config: String?
    @Option(help: "Seconds between heartbeats.") var heartbeatInterval: Double = 10
    @Option(help: "Seconds between claims while nothing is queued.") var pollInterval: Double = 1
    @Option(help: "Stop and fail a task whose agent prints nothing for this long: 30m, 90s, none (AGENTLIVE_IDLE_TIMEOUT).")
    var idleTimeout: String?
    @Option(help: "Stop and fail a task that runs longer than this: 2h, none (AGENTLIVE_MAX_DURATION).")
    var maxDuration: String?
    @Flag(help: "Handle one task, then exit.") var once = false

    struct FileSettings: Decodable {
        var server, token, tokenFile, agent, command, session: String?
        var runtime: RuntimeKind?
        var speed: Double?
        var maxTasks: Int?
        var workDir, stateDir: String?
        var redact: [String]?
        var model, idleTimeout, maxDuration: String?
        /// Several agents served by one daemon (used when no --agent is given).
        var agents: [AgentSettings]?

        enum CodingKeys: String, CodingKey {
            case server, token, agent, command, session, runtime, speed, redact, model, agents
            case maxTasks = "max_tasks", workDir = "work_dir", stateDir = "state_dir", tokenFile = "token_file"
            case idleTimeout = "idle_timeout", maxDuration = "max_duration"
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
                ?? pick(tokenFile, "AGENTLIVE_TOKEN_FILE", file.tokenFile).map(readToken)
        else { throw ValidationError("--server and --token are required (or AGENTLIVE_SERVER, AGENTLIVE_TOKEN)") }
        let stateDir = URL(fileURLWithPath: pick(stateDir, "AGENTLIVE_STATE_DIR", file.stateDir) ?? "\(home)/.local/state/agentlive")
        let workDir = URL(fileURLWithPath: pick(workDir, "AGENTLIVE_WORK_DIR", file.workDir) ?? stateDir.appendingPathComponent("work").path)
        let idle = try duration(pick(idleTimeout, "AGENTLIVE_IDLE_TIMEOUT", file.idleTimeout) ?? "30m", "--idle-timeout")
        let longest = try duration(pick(maxDuration, "AGENTLIVE_MAX_DURATION", file.maxDuration) ?? "none", "--max-duration")

        // One agent from the flags, or every agent the config file lists.
        let agents: [AgentSettings]
        if let agent = pick(agent, "AGENTLIVE_AGENT", file.agent) {
            agents = [AgentSettings(
                agent: agent,
                runtime: runtime ?? environment["AGENTLIVE_RUNTIME"].flatMap(RuntimeKind.init(rawValue:)) ?? file.runtime ?? .claude,
                command: pick(command, "AGENTLIVE_COMMAND", file.command), session: pick(session, "AGENTLIVE_SESSION", file.session),
                speed: speed ?? environment["AGENTLIVE_SPEED"].flatMap(Double.init) ?? file.speed,
                model: model ?? file.model, maxTasks: maxTasks ?? environment["AGENTLIVE_MAX_TASKS"].flatMap(Int.init) ?? file.maxTasks)]
        } else if let listed = file.agents, !listed.isEmpty {
            agents = listed
        } else {
            throw ValidationError("--agent is required (or AGENTLIVE_AGENT, or \"agents\" in the config file)")
        }

        // Every runtime is checked before anything is registered or claimed.
        var plans: [(settings: AgentSettings, runtime: any AgentRuntime)] = []
        for settings in agents {
            let runtime = try await settings.makeRuntime()
            plans.append((settings, WatchdogRuntime(runtime, idleTimeout: idle, maxDuration: longest)))
        }

        let runtimes = await RuntimeDetection.detect()
        let redactor = try Redactor(extraPatterns: redact + (file.redact ?? []))
        var daemons: [Daemon] = []
        for (index, plan) in plans.enumerated() {
            var agentLogger = logger
            if plans.count > 1 { agentLogger[metadataKey: "agent"] = "\(plan.settings.agent)" }
            // The first agent keeps the daemon's own id; each other agent is a daemon of its own on the server.
            let folder = index == 0 ? stateDir : stateDir.appendingPathComponent("agents/\(plan.settings.folderName)")
            let identity = DaemonIdentity(stateDirectory: folder, server: server, token: token)
            var settings = Daemon.Settings(daemonID: try identity.load(), agentID: plan.settings.agent)
            settings.newDaemonID = { try identity.renew() }
            settings.maxTasks = plan.settings.maxTasks ?? 1
            settings.once = once
            settings.heartbeatInterval = .milliseconds(Int(heartbeatInterval * 1000))
            settings.pollInterval = .milliseconds(Int(pollInterval * 1000))
            settings.runtimes = runtimes
            daemons.append(Daemon(
                settings: settings, api: HTTPDaemonAPI(server: server, token: token), runtime: plan.runtime,
                workRoot: workDir, redactor: redactor, logger: agentLogger))
        }
        if daemons.count == 1, let daemon = daemons.first {
            try await daemon.run()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for daemon in daemons {
                group.addTask {
                    do {
                        try await daemon.run()
                    } catch {
                        // A refused registration at start: the configuration is wrong; say so and stop.
                        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                        Foundation.exit(1)
                    }
                }
            }
        }
    }

    private func duration(_ text: String, _ flag: String) throws -> Duration? {
        switch parseDuration(text) {
        case .success(let value): return value
        case .failure(let error): throw ValidationError("\(flag): \(error)")
        }
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
